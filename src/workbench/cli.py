"""``workbench`` command line. Help is in Chinese by default; ``--lang en`` or ``WORKBENCH_LANG=en`` for English."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from .errors import WorkbenchError
from .i18n import resolve_lang, t

__all__ = ["main", "build_parser"]



def _lang_from_argv(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return os.environ.get("WORKBENCH_LANG", "zh")


def build_parser(lang: str = "zh") -> argparse.ArgumentParser:
    def h(key: str) -> str:
        return t(f"cli.help.{key}", lang)  # every help text is in the message catalog (messages/cli.yaml)

    parser = argparse.ArgumentParser(prog="workbench", description=h("prog"), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", choices=["zh", "en"], default=None, help=h("lang"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help=h("run"), description=h("run"))
    run.add_argument("--profile", default="default", help=h("profile"))
    run.add_argument("--stage", action="append", default=[], metavar="NAME", help=h("stage"))
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=h("set"))
    run.add_argument("--out", default=None, metavar="DIR", help=h("out"))
    run.add_argument("--no-progress", action="store_true", help=h("no_progress"))
    run.add_argument("--jobs", type=int, default=None, metavar="N", help=h("jobs"))

    runs = sub.add_parser("runs", help=h("runs"), description=h("runs"))
    runs.add_argument("--root", default=None, metavar="DIR", help=h("root"))
    rsub = runs.add_subparsers(dest="runs_command", metavar="ACTION")
    rl = rsub.add_parser("list", help=h("runs_list"), description=h("runs_list"))
    rl.add_argument("paths", nargs="*", metavar="DIR", help=h("runs_paths"))
    rl.add_argument("--json", action="store_true", help=h("json"))
    rs = rsub.add_parser("show", help=h("runs_show"), description=h("runs_show"))
    rs.add_argument("run_id", help=h("run_id"))
    rs.add_argument("--json", action="store_true", help=h("json"))
    rc = rsub.add_parser("compare", help=h("runs_compare"), description=h("runs_compare"))
    rc.add_argument("run_a", help=h("run_id"))
    rc.add_argument("run_b", help=h("run_id"))
    rc.add_argument("--all", action="store_true", help=h("all"))
    rc.add_argument("--json", action="store_true", help=h("json"))

    # usage only: everything after `lab` is JupyterLab's (main() passes unknown arguments through)
    sub.add_parser("lab", help=h("lab"), description=h("lab"), usage="workbench lab [-h] [JUPYTERLAB_ARGS ...]")

    synth = sub.add_parser("synth", help=h("synth"), description=h("synth"))
    synth.add_argument("--seed", type=int, default=7, help=h("seed"))
    synth.add_argument("--scenario", default="fair", choices=["fair", "biased"], help=h("scenario"))
    synth.add_argument("--candidates", type=int, default=2000, help=h("candidates"))
    synth.add_argument("--employees-per-role", type=int, default=300, help=h("employees"))
    synth.add_argument("--rater-bias", type=float, default=None, metavar="SD", help=h("rater_bias"))
    synth.add_argument("--phrasing-b-share", type=float, default=0.0, metavar="SHARE", help=h("phrasing_b_share"))
    synth.add_argument("--format", choices=["csv", "parquet"], default="csv", help=h("format"))
    synth.add_argument("--out", required=True, metavar="DIR", help=h("synth_out"))
    synth.add_argument("--no-progress", action="store_true", help=h("no_progress"))

    contracts = sub.add_parser("contracts", help=h("contracts"), description=h("contracts"))
    contracts.add_argument("--markdown", action="store_true", help=h("markdown"))

    intake = sub.add_parser("intake", help=h("intake"), description=h("intake"))
    intake.add_argument("data_dir", help=h("data_dir"))

    sub.add_parser("stages", help=h("stages"), description=h("stages"))

    score = sub.add_parser("score", help=h("score"), description=h("score"))
    score.add_argument("--model", required=True, metavar="M", help=h("score_model"))
    score.add_argument("--answers", required=True, metavar="FILE", help=h("score_answers"))
    score.add_argument("--out", required=True, metavar="FILE", help=h("score_out"))
    score.add_argument("--jobs", type=int, default=1, metavar="N", help=h("score_jobs"))
    score.add_argument("--engine", choices=["local", "dask"], default="local", help=h("score_engine"))
    score.add_argument("--scheduler", default=None, metavar="ADDR", help=h("score_scheduler"))
    score.add_argument("--questions", default=None, metavar="FILE", help=h("score_questions"))
    score.add_argument("--chunk-size", type=int, default=20_000, metavar="ROWS", help=h("score_chunk"))
    score.add_argument("--id-column", default="answer_id", metavar="COL", help=h("score_id_col"))
    score.add_argument("--text-column", default="answer_text", metavar="COL", help=h("score_text_col"))
    score.add_argument("--competency-column", default="competency_id", metavar="COL", help=h("score_comp_col"))
    score.add_argument("--no-progress", action="store_true", help=h("no_progress"))

    audit = sub.add_parser("audit", help=h("audit"), description=h("audit"))
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    av = asub.add_parser("verify", help=h("audit_verify"), description=h("audit_verify"))
    av.add_argument("log", nargs="?", default=None, help=h("audit_log"))

    from .bench._cli import add_parsers as _bench_parsers
    from .wecom._cli import add_parsers as _wecom_parsers

    _bench_parsers(sub, h, lang=lang)
    _wecom_parsers(sub, h, lang=lang)  # workbench notify, workbench callback
    from .export._cli import add_parsers as add_export_parsers
    from .i18n import t as _t

    add_export_parsers(sub, lambda key: _t(key, lang))
    return parser


def _cell(value) -> str:
    """A table cell: missing values (None, NaN — pandas' string columns hold NaN for None) are blank."""
    import pandas as pd

    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # lists and arrays: shown as they are
        pass
    return str(value)


def _print_frame(frame, as_json: bool = False) -> None:
    if as_json:
        print(frame.to_json(orient="records", force_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
        console = Console(width=200)
    console.print(table)


def _cmd_runs(args, lang: str) -> int:
    from .pipeline import compare_runs, find_run, list_runs

    if args.runs_command in (None, "list"):
        _print_frame(list_runs(args.root, getattr(args, "paths", ())), getattr(args, "json", False))
        return 0
    if args.runs_command == "show":
        run_dir, manifest = find_run(args.run_id, args.root)
        if args.json:
            print(json.dumps(manifest, ensure_ascii=False, indent=2))
            return 0
        import pandas as pd

        from .i18n import label

        git = manifest.get("git") or {}
        fields = [
            ("run_id", manifest["run_id"]),
            ("kind", label("run_kind", manifest.get("kind"), lang)),
            ("dir", run_dir.resolve()),
            ("profile", manifest.get("profile") or "—"),
            ("status", label("status", manifest.get("status"), lang)),
            ("started", manifest.get("started_at")),
            ("finished", manifest.get("finished_at") or "—"),
            ("commit", (git.get("commit") or "—") + (t("cli.runs.dirty", lang) if git.get("dirty") else "")),
            ("overrides", " ".join(manifest.get("overrides", [])) or "—"),
        ]
        from rich.cells import cell_len  # Chinese labels are two columns wide per character

        names = {key: t(f"cli.runs.{key}", lang) for key, _ in fields}
        width = max(cell_len(name) for name in names.values())
        for key, value in fields:
            print(f"{names[key]}{' ' * (width - cell_len(names[key]))}  {value}")
        _print_frame(pd.DataFrame([{k: s.get(k) for k in ("name", "title", "status", "duration_s", "html")} for s in manifest["stages"]]))
        for stage, params in manifest.get("parameters", {}).items():
            print(f"[{stage}] " + ", ".join(f"{k}={v!r}" for k, v in params.items()))
        for stage, metrics in manifest.get("metrics", {}).items():
            print(f"[{stage} {t('cli.runs.metrics', lang)}] " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
        return 0
    frame = compare_runs(args.run_a, args.run_b, args.root, only_different=not args.all)
    _print_frame(frame, args.json)
    return 0


def _lab_argv(extra: list[str]) -> list[str]:
    """The JupyterLab command line: notebooks/ as its folder, the user's arguments unchanged, --allow-root as root."""
    from ._paths import NOTEBOOKS_DIR

    extra = extra[1:] if extra[:1] == ["--"] else list(extra)
    argv = [sys.executable, "-m", "jupyterlab"]
    if not any(a.split("=", 1)[0] in ("--notebook-dir", "--ServerApp.root_dir") for a in extra):
        argv.append(f"--notebook-dir={NOTEBOOKS_DIR}")
    # JupyterLab refuses to start as root without it (containers, CI, the shared research machine)
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        argv.append("--allow-root")
    return argv + extra


def _cmd_lab(extra: list[str]) -> int:
    from ._paths import PROJECT_ROOT

    env = dict(os.environ, WORKBENCH_ROOT=str(PROJECT_ROOT))
    # The python3 kernelspec shipped with ipykernel resolves to this interpreter, i.e. the project environment.
    return subprocess.call(_lab_argv(extra), env=env)


def _cmd_synth(args, lang: str) -> int:
    import time

    from .synth import generate_cohort, scenario_config

    overrides = {"seed": args.seed, "n_candidates": args.candidates, "employees_per_role": args.employees_per_role}
    if args.rater_bias is not None:
        overrides["rater_bias_sd"] = args.rater_bias
    if args.phrasing_b_share:
        overrides["phrasing_b_share"] = args.phrasing_b_share
    config = scenario_config(args.scenario, **overrides)
    start = time.perf_counter()
    summary = generate_cohort(config, args.out, fmt=args.format, progress=not args.no_progress)
    elapsed = time.perf_counter() - start
    for name, rows in summary.rows.items():
        print(f"{name:24s} {rows:>10,d}  {summary.files[name]}")
    rate = summary.rows["answers"] / elapsed if elapsed else float("nan")
    print(t("cli.synth_done", lang, seconds=f"{elapsed:.1f}", rate=f"{rate:,.0f}", truth=Path(args.out) / "truth"))
    return 0


def _cmd_intake(args, lang: str) -> int:
    from .i18n import label
    from .intake import resolve_sources, run_intake

    result = run_intake(resolve_sources(args.data_dir), lang=lang)
    _print_frame(result.counts()[["table", "source_file", "encoding", "lines_in", "rows_in", "accepted", "quarantined", "reconciled"]])
    q = result.quarantine
    if len(q):
        by_reason = q.groupby(["table", "reason_code"]).agg(rows=("row", "nunique"), problems=("row", "size")).reset_index()
        by_reason["reason"] = [label("intake.reason", code, lang) for code in by_reason["reason_code"]]
        _print_frame(by_reason)
    return 0 if result.reconciled else 1


def _cmd_stages(lang: str) -> int:
    from .stages import STAGES

    for stage in STAGES:
        print(f"{stage.name}  {stage.title(lang)}  ({stage.notebook.relative_to(stage.notebook.parents[1])}, {stage.run.__module__})")
        for spec in stage.specs().values():
            print(f"    {spec.name}: {spec.type} = {spec.default!r}  # {spec.help}")
    return 0


def _cmd_score(args, lang: str) -> int:
    from .scoring._batch import score_file

    summary = score_file(
        args.model, args.answers, args.out, jobs=args.jobs, engine=args.engine, scheduler=args.scheduler,
        chunk_size=args.chunk_size, questions_path=args.questions, progress=not args.no_progress,
        id_column=args.id_column, text_column=args.text_column, competency_column=args.competency_column,
    )
    steady = summary.steady_rows_per_s == summary.steady_rows_per_s  # NaN when the input fitted in one chunk
    lines = [
        t("cli.score.rows", lang, rows=f"{summary.rows_in:,}", scored=f"{summary.scored:,}", quarantined=f"{summary.quarantined:,}",
          reconciled=t("cli.score.reconciled_yes" if summary.reconciled else "cli.score.reconciled_no", lang)),
        t("cli.score.speed", lang, seconds=f"{summary.seconds:,.1f}", startup=f"{summary.startup_seconds:,.1f}", rate=f"{summary.rows_per_s:,.0f}")
        + (t("cli.score.steady", lang, rate=f"{summary.steady_rows_per_s:,.0f}") if steady else "")
        + t("cli.score.engine", lang, engine=summary.engine, jobs=summary.jobs),
        t("cli.score.model", lang, version=summary.model_version, sha=summary.model_sha256[:16]),
        t("cli.score.out", lang, path=summary.out_path),
        t("cli.score.quarantine", lang, path=summary.quarantine_path),
    ]
    lines += [f"  {code}: {n:,}" for code, n in sorted(summary.quarantine_reasons.items())]
    print("\n".join(lines))
    return 0


def _cmd_audit(args, lang: str) -> int:
    from .fairness import verify_audit_log
    from .stages.fairness import default_audit_log

    log = Path(args.log) if args.log else default_audit_log()
    result = verify_audit_log(log)
    if result.ok:
        print(t("cli.audit.ok", lang, log=log, n=result.n_records, last=result.last_hash[:16]))
        return 0
    print(t("cli.audit.bad", lang, log=log, seq=result.first_bad_seq, reason=result.reason), file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = resolve_lang(_lang_from_argv(argv) if _lang_from_argv(argv) in ("zh", "en") else "zh")
    parser = build_parser(lang)
    # `workbench lab` hands whatever it does not know to JupyterLab; every other command rejects unknown arguments
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.lang:
        lang = args.lang
    try:
        if args.command == "run":
            from .pipeline import run_pipeline

            result = run_pipeline(
                profile=args.profile, stages=args.stage, sets=args.set, out=args.out, lang=lang, progress=not args.no_progress,
                argv=["workbench", *argv], jobs=args.jobs,
            )
            return 0 if result.status == "ok" else 1
        if args.command == "runs":
            return _cmd_runs(args, lang)
        if args.command == "lab":
            return _cmd_lab(extra)
        if args.command == "synth":
            return _cmd_synth(args, lang)
        if args.command == "contracts":
            from .intake import contracts_markdown

            print(contracts_markdown())
            return 0
        if args.command == "intake":
            return _cmd_intake(args, lang)
        if args.command == "stages":
            return _cmd_stages(lang)
        if args.command == "bench":
            from .bench._cli import run as _bench_run

            return _bench_run(args, lang, parser, _print_frame)
        if args.command == "audit":
            return _cmd_audit(args, lang)
        if args.command == "score":
            return _cmd_score(args, lang)
        if args.command in ("notify", "callback"):
            from .wecom._cli import run_command

            return run_command(args, lang)
        if args.command == "export":
            from .export._cli import main as export_main

            return export_main(args, lang)
        parser.print_help()
        return 0
    except WorkbenchError as exc:
        print(t("cli.error", lang, message=exc), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
