from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._tabular import escape
from ..competency import load_dictionary
from ..competency.model import load_competency_model
from ..errors import ConfigurationError, DataError
from ..intake.readers import read_raw_table
from ..questions.evaluate import QuestionSetEvaluation, evaluate_question_set, leaderboard, read_question_set

__all__ = ["benchmark_question_set", "build_leaderboard", "read_pilot"]

PILOT_COLUMNS = ("candidate_id", "question_id", "rating")


def read_pilot(path: str | Path) -> pd.DataFrame:
    """Pilot ratings: candidate_id, question_id, rating, optional rater_id and candidate attribute columns."""
    raw = read_raw_table(path, table="pilot")
    frame = raw.frame
    missing = [c for c in PILOT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"pilot ratings {path} lack column(s) {missing}; required: {', '.join(PILOT_COLUMNS)}")
    ratings = pd.to_numeric(frame["rating"], errors="coerce")
    bad = frame.index[ratings.isna()]
    if len(bad):
        rows = raw.rows.loc[bad[:5]].tolist()
        raise DataError(f"pilot ratings {path}: column rating has non-numeric or empty values in rows {rows}")
    frame = frame.copy()
    frame["rating"] = ratings
    return frame


def benchmark_question_set(
    set_path: str | Path,
    out_dir: str | Path,
    *,
    pilot_path: str | Path | None = None,
    model_path: str | Path | None = None,
    name: str | None = None,
    dif_columns: tuple[str, ...] = (),
    min_per_competency: int = 3,
) -> QuestionSetEvaluation:
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigurationError(f"{out_dir} is not empty; choose a new --out for each scorecard")
    dictionary = load_dictionary()
    questions, quarantine, source = read_question_set(set_path, dictionary)
    model = load_competency_model(model_path) if model_path else None
    pilot = read_pilot(pilot_path) if pilot_path else None
    if pilot is not None:
        unknown = set(pilot["question_id"]) - set(questions["question_id"])
        if unknown:
            raise DataError(f"pilot ratings refer to {len(unknown)} question ids not in the set, e.g. {sorted(unknown)[:3]}")
        missing_cols = [c for c in dif_columns if c not in pilot.columns]
        if missing_cols:
            raise DataError(f"DIF column(s) {missing_cols} are not in the pilot file")
    if model is not None:
        source["competency_model"] = model.get("version")
    evaluation = evaluate_question_set(
        questions,
        name=name or source["name"],
        dictionary=dictionary,
        model=model,
        pilot=pilot,
        quarantine=quarantine,
        source=source,
        min_per_competency=min_per_competency,
        dif_columns=dif_columns,
    )
    evaluation.save(out_dir)
    return evaluation


def build_leaderboard(dirs: list[str | Path], out: str | Path | None = None) -> pd.DataFrame:
    cards = []
    for d in dirs:
        path = Path(d) / "scorecard.json"
        if not path.is_file():
            raise DataError(f"no scorecard.json in {d}; create it with `workbench bench questions SET --out {d}`")
        cards.append(json.loads(path.read_text(encoding="utf-8")))
    table = leaderboard(cards)
    if out:
        from ..reports import assert_offline, report_css

        head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in table.itertuples(index=False))
        html = (
            f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>题目集排行榜</title><style>{report_css()}</style></head>"
            f"<body><main><h1>题目集排行榜</h1><p>同一评估标准（覆盖、合规、质量、重复、数据问题；提供试测数据时含题目统计）下的综合比较。</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></main></body></html>"
        )
        assert_offline(html)
        Path(out).write_text(html, encoding="utf-8")
    return table
