from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._tabular import escape
from ..competency import load_dictionary
from ..competency.model import load_competency_model
from ..errors import ConfigurationError, DataError
from ..i18n import label, resolve_lang, t
from ..questions.evaluate import QuestionSetEvaluation, evaluate_question_set, leaderboard, load_question_set, read_vendor_table

__all__ = ["benchmark_question_set", "build_leaderboard", "read_pilot", "scorer_leaderboard"]

PILOT_COLUMNS = ("candidate_id", "question_id", "rating")


def read_pilot(path: str | Path) -> pd.DataFrame:
    """Pilot ratings: candidate_id, question_id, rating, optional rater_id and candidate attribute columns."""
    raw, _ = read_vendor_table(path, table="pilot", required=PILOT_COLUMNS, aliases={})
    if raw.problems:  # records the reader could not take (broken quoting, NUL or undecodable bytes …): never dropped
        rows = sorted({p.row for p in raw.problems})
        codes = ", ".join(sorted({p.code for p in raw.problems}))
        raise DataError(f"pilot ratings {path}: {len(rows)} record(s) cannot be read ({codes}), rows {rows[:5]}; fix or remove them")
    frame = raw.frame
    ratings = pd.to_numeric(frame["rating"], errors="coerce")
    bad = frame.index[ratings.isna()]
    if len(bad):
        rows = raw.rows.loc[bad[:5]].tolist()
        raise DataError(f"pilot ratings {path}: column rating has non-numeric or empty values in rows {rows}")
    frame = frame.copy()
    frame["rating"] = ratings
    return frame


def _check_out(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigurationError(f"{out_dir} is not empty; choose a new --out for each scorecard")


def benchmark_question_set(
    set_path: str | Path,
    out_dir: str | Path,
    *,
    pilot_path: str | Path | None = None,
    model_path: str | Path | None = None,
    mapping_path: str | Path | None = None,
    name: str | None = None,
    dif_columns: tuple[str, ...] = (),
    min_per_competency: int = 3,
    lang: str | None = None,
) -> QuestionSetEvaluation:
    """Read, resolve, lint and score a vendor's question set; write the scorecard (JSON, HTML, CSVs) to ``out_dir``."""
    out_dir = Path(out_dir)
    _check_out(out_dir)
    dictionary = load_dictionary()
    qset = load_question_set(set_path, dictionary, mapping=mapping_path)
    model = load_competency_model(model_path) if model_path else None
    pilot = read_pilot(pilot_path) if pilot_path else None
    if pilot is not None:
        unknown = set(pilot["question_id"]) - set(qset.questions["question_id"])
        if unknown:
            raise DataError(f"pilot ratings refer to {len(unknown)} question ids not in the set, e.g. {sorted(unknown)[:3]}")
        missing_cols = [c for c in dif_columns if c not in pilot.columns]
        if missing_cols:
            raise DataError(f"DIF column(s) {missing_cols} are not in the pilot file")
    source = {}
    if model is not None:
        source["competency_model"] = model.get("version")
    evaluation = evaluate_question_set(
        qset,
        name=name or qset.source["name"],
        dictionary=dictionary,
        model=model,
        pilot=pilot,
        source=source,
        min_per_competency=min_per_competency,
        dif_columns=dif_columns,
        lang=lang,
    )
    evaluation.save(out_dir)
    return evaluation


def _read_cards(dirs: list[str | Path]) -> list[dict]:
    cards = []
    for d in dirs:
        path = Path(d) / "scorecard.json"
        if not path.is_file():
            raise DataError(f"no scorecard.json in {d}; create it with `workbench bench questions SET --out {d}` or `workbench bench scorer SCORES --key KEY --out {d}`")
        try:
            cards.append(json.loads(path.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not valid JSON: {exc}") from exc
    return cards


def scorer_leaderboard(cards: list[dict], lang: str | None = None) -> pd.DataFrame:
    """Scorer scorecards side by side, best first."""
    lang = resolve_lang(lang)
    c = lambda k: t(f"bench.board.col.{k}", lang)  # noqa: E731
    rows = []
    for card in cards:
        s = card["summary"]
        fairness = "—" if not (s["bias_flag"] or s["adverse_impact_flag"]) else "、".join(s.get("flagged_groups", [])) or "!"
        rows.append({
            c("name"): card["name"], c("score"): s["score"], c("verdict"): label("bench.s.verdict", s["verdict"], lang),
            c("qwk"): "—" if s["qwk"] is None else f"{s['qwk']:.3f}", c("r"): "—" if s["r"] is None else f"{s['r']:.3f}",
            c("gates"): f"{s['competencies_passing']}/{s['competencies_total']}", c("fairness"): fairness,
            c("gaming"): "—" if s["probes_beaten_rate"] is None else f"{s['probes_beaten']}/{s['probes_judged']}",
            c("scored"): f"{s['coverage_rate']:.1%}",
        })
    frame = pd.DataFrame(rows)
    return frame.sort_values(c("score"), ascending=False, kind="stable").reset_index(drop=True) if len(frame) else frame


def build_leaderboard(dirs: list[str | Path], out: str | Path | None = None, *, lang: str | None = None) -> dict[str, pd.DataFrame]:
    """Rank the question sets and the scorers among ``dirs`` (scorecard directories); write an offline HTML page
    to ``out`` if given. Returns ``{"question_sets": …, "scorers": …}``."""
    lang = resolve_lang(lang)
    cards = _read_cards(dirs)
    sets = [c for c in cards if c.get("kind", "question_set") == "question_set"]
    scorers = [c for c in cards if c.get("kind") == "scorer"]
    tables = {"question_sets": leaderboard(sets, lang) if sets else pd.DataFrame(), "scorers": scorer_leaderboard(scorers, lang) if scorers else pd.DataFrame()}
    if out:
        from ..reports import render_page, render_table

        def table(frame: pd.DataFrame) -> str:
            return render_table(frame.astype(object), labels={c: str(c) for c in frame.columns}, max_rows=max(len(frame), 1),
                                empty=t("bench.board.none", lang), lang=lang)

        body = (f"<p>{escape(t('bench.board.intro', lang))}</p>"
                f"<h2>{escape(t('bench.board.sets', lang))}</h2>{table(tables['question_sets'])}"
                f"<h2>{escape(t('bench.board.scorers', lang))}</h2>{table(tables['scorers'])}")
        html = render_page(t("bench.board.title", lang), body, lang=lang)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(html, encoding="utf-8")
    return tables
