"""``workbench bench …``: question sets, the scorer benchmark and the leaderboard.

``cli.py`` calls :func:`add_parsers` while building its parser and :func:`run` for ``args.command == "bench"``.
Help and output come from the message catalog (``messages/bench.yaml``).
"""

from __future__ import annotations

from pathlib import Path

from ..i18n import label, resolve_lang, t

__all__ = ["add_parsers", "run", "cmd_answers", "cmd_leaderboard", "cmd_questions", "cmd_scorer"]


def add_parsers(subparsers, h=None, *, lang: str | None = None):
    """Add ``bench`` and its actions to ``subparsers``. ``h`` (the caller's help lookup) is accepted for symmetry
    with the other commands; the texts here come from the catalog in ``lang``."""
    lang = resolve_lang(lang)
    m = lambda key: t(f"bench.cli.{key}", lang)  # noqa: E731
    bench = subparsers.add_parser("bench", help=m("bench"), description=m("bench"))
    bsub = bench.add_subparsers(dest="bench_command", metavar="ACTION")

    bq = bsub.add_parser("questions", help=m("questions"), description=m("questions"))
    bq.add_argument("set_path", metavar="SET", help=m("set"))
    bq.add_argument("--out", required=True, metavar="DIR", help=m("out"))
    bq.add_argument("--mapping", default=None, metavar="FILE", help=m("mapping"))
    bq.add_argument("--pilot", default=None, metavar="RATINGS", help=m("pilot"))
    bq.add_argument("--model", default=None, metavar="JSON", help=m("model"))
    bq.add_argument("--dif", default="", metavar="COLS", help=m("dif"))
    bq.add_argument("--name", default=None, help=m("name"))

    ba = bsub.add_parser("answers", help=m("answers"), description=m("answers"))
    ba.add_argument("--out", required=True, metavar="DIR", help=m("out"))
    ba.add_argument("--key", required=True, metavar="KEY_DIR", help=m("key"))
    ba.add_argument("--seed", type=int, default=11, help=m("seed"))
    ba.add_argument("--candidates", type=int, default=1500, help=m("candidates"))
    ba.add_argument("--probe-questions", type=int, default=24, metavar="N", help=m("probe_questions"))
    ba.add_argument("--from-cohort", default=None, metavar="DATA_DIR", help=m("from_cohort"))

    bs = bsub.add_parser("scorer", help=m("scorer"), description=m("scorer"))
    bs.add_argument("scores", metavar="SCORES", help=m("scores"))
    bs.add_argument("--key", required=True, metavar="KEY_DIR", help=m("key_dir"))
    bs.add_argument("--out", required=True, metavar="DIR", help=m("out"))
    bs.add_argument("--name", default=None, help=m("name"))

    bl = bsub.add_parser("leaderboard", help=m("leaderboard"), description=m("leaderboard"))
    bl.add_argument("dirs", nargs="+", metavar="DIR", help=m("dirs"))
    bl.add_argument("--html", default=None, metavar="FILE", help=m("html"))
    return bench


def cmd_questions(args, lang: str) -> int:
    from ._bench import benchmark_question_set

    evaluation = benchmark_question_set(
        args.set_path, args.out, pilot_path=args.pilot, model_path=args.model, mapping_path=args.mapping, name=args.name,
        dif_columns=tuple(c.strip() for c in args.dif.split(",") if c.strip()), lang=lang,
    )
    s = evaluation.summary()
    verdict = t("bench.cli.verdict_with_reason", lang, verdict=label("bench.verdict", s["verdict"], lang), reason=t("bench.verdict_reason." + s["verdict"], lang))
    print(t("bench.cli.done_questions", lang, name=evaluation.name, score=f"{s['score']:.1f}", verdict=verdict))
    print(t("bench.cli.written", lang, json=Path(args.out) / "scorecard.json", html=Path(args.out) / "scorecard.html"))
    return 0


def cmd_answers(args, lang: str) -> int:
    from ._scorers import publish_answer_set

    summary = publish_answer_set(args.out, args.key, seed=args.seed, n_candidates=args.candidates, probe_questions=args.probe_questions,
                                 cohort_dir=args.from_cohort)
    print(t("bench.cli.done_answers", lang, n=summary.answers, probes=summary.probes, out=summary.out_dir / "answers.csv", keydir=summary.key_dir))
    return 0


def cmd_scorer(args, lang: str) -> int:
    from ._bench import _check_out
    from ._scorers import evaluate_scorer

    out = Path(args.out)
    _check_out(out)
    evaluation = evaluate_scorer(args.scores, args.key, name=args.name, lang=lang)
    evaluation.save(out)
    s = evaluation.summary()
    print(t("bench.cli.done_scorer", lang, name=evaluation.name, score=f"{s['score']:.1f}",
            verdict=t("bench.cli.verdict_with_reason", lang, verdict=label("bench.s.verdict", s["verdict"], lang), reason=t("bench.s.reason." + s["verdict"], lang))))
    print(t("bench.cli.written", lang, json=out / "scorecard.json", html=out / "scorecard.html"))
    return 0


def cmd_leaderboard(args, lang: str, print_frame=None) -> int:
    from ._bench import build_leaderboard

    tables = build_leaderboard(args.dirs, args.html, lang=lang)
    for key, title in (("question_sets", "bench.board.sets"), ("scorers", "bench.board.scorers")):
        frame = tables[key]
        if frame.empty:
            continue
        print(t(title, lang))
        if print_frame is not None:
            print_frame(frame)
        else:
            print(frame.to_string(index=False))
    return 0


def run(args, lang: str, parser=None, print_frame=None) -> int:
    """Dispatch ``workbench bench ACTION``; with no action, print the bench help."""
    lang = resolve_lang(lang)
    commands = {"questions": cmd_questions, "answers": cmd_answers, "scorer": cmd_scorer}
    if args.bench_command in commands:
        return commands[args.bench_command](args, lang)
    if args.bench_command == "leaderboard":
        return cmd_leaderboard(args, lang, print_frame)
    if parser is not None:
        parser.parse_args(["bench", "--help"])
    return 0
