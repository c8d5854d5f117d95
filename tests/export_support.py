"""Shared material for the decisions/export tests: a real synthetic cohort taken in through the real intake, scored
with a noisy stand-in for the scorer (training one would take minutes), aggregated with the pipeline's own
``dimension_scores``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.competency import load_dictionary
from workbench.export import RunTables
from workbench.intake import resolve_sources, run_intake
from workbench.scoring import answer_dataset, dimension_scores
from workbench.synth import generate_cohort, scenario_config

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
RARE_NAMES = ("张𠀀", "李䶮", "王😀明", "=HYPERLINK(\"http://x\")", "+86 138", "-1", "@SUM(A1)", "\t赵", "\r钱")


def equal_weight_model(dictionary) -> dict:
    """A competency model with equal weights: what dimension_scores needs, without fitting anything."""
    roles = {}
    for role_id, role in dictionary.roles.items():
        dims: dict = {}
        for cid in role.competency_ids:
            dim = dictionary.competencies[cid].dimension
            dims.setdefault(dim, {"weight": 1 / 3, "competencies": {}})["competencies"][cid] = {"weight": 1.0}
        roles[role_id] = {"dimensions": dims}
    from workbench.competency.model import MODEL_SCHEMA_VERSION

    return {"schema_version": MODEL_SCHEMA_VERSION, "version": "equal-weights-test", "roles": roles}


# (n, seed) → the first folder generated in this process and its intake tables: a cohort is generated once per
# test session (the generator is deterministic: the same n and seed give byte-identical files)
_COHORTS: dict[tuple[int, int], tuple[Path, dict[str, pd.DataFrame]]] = {}


def make_cohort(base: Path, *, n: int = 240, seed: int = 3) -> dict[str, pd.DataFrame]:
    """The intake tables of the fair cohort (n, seed), whose files are in ``base/cohort-{seed}-{n}``; a fresh copy
    of every table on each call (callers may change them)."""
    import shutil

    out = base / f"cohort-{seed}-{n}"
    cached = _COHORTS.get((n, seed))
    if not out.exists():
        if cached is not None:
            shutil.copytree(cached[0], out)
        else:
            generate_cohort(scenario_config("fair", seed=seed, n_candidates=n, employees_per_role=5), out, fmt="csv")
    if cached is None:
        cached = _COHORTS[(n, seed)] = (out, run_intake(resolve_sources(out)).tables)
    return {name: table.copy() for name, table in cached[1].items()}


def scored_tables(tables: dict[str, pd.DataFrame], *, seed: int = 3, model_sha: str | None = None, model_version: str = "test-1",
                  names: tuple[str, ...] = (), run_id: str = "test-run") -> RunTables:
    dictionary = load_dictionary()
    rng = np.random.default_rng(seed)
    data, _ = answer_dataset(tables)
    data["machine"] = np.clip(data["human"] + rng.normal(0, 0.6, len(data)), 1, 5)
    model = equal_weight_model(dictionary)
    machine = dimension_scores(data, model, score_col="machine", prefix="machine_")
    human = dimension_scores(data, model, score_col="human", prefix="human_")
    candidates = tables["candidates"].copy()
    if names:
        candidates["name"] = candidates["name"].astype(object)
        for i, name in enumerate(names):
            candidates.loc[candidates.index[i], "name"] = name
    answer_scores = data[["answer_id", "candidate_id", "question_id", "competency", "role_id", "human1", "human2", "human", "machine"]].copy()
    return RunTables(
        run_id=run_id, candidate_scores=machine.merge(human, on=["candidate_id", "role_id"]), answer_scores=answer_scores,
        candidates=candidates, card={"sha256": model_sha or "ab" * 32, "model_version": model_version, "competency_model_version": model["version"]},
        dictionary=dictionary, answers=tables["answers"], questions=tables["questions"], competency_model=model,
        scored_at="2026-12-01T02:03:04+00:00",
    )


def new_key() -> str:
    return secrets.token_hex(32)


def write_run_dir(tables: RunTables, run_dir: Path) -> Path:
    """Lay ``tables`` out like a run directory of ``workbench run`` (the files and stage records the export reads)."""
    import json
    import shutil

    art = run_dir / "artifacts"
    for sub in ("00_intake", "01_competency_model", "03_scoring"):
        (art / sub).mkdir(parents=True, exist_ok=True)
    (run_dir / "stages").mkdir(parents=True, exist_ok=True)
    tables.candidate_scores.to_parquet(art / "03_scoring" / "candidate_scores.parquet", index=False)
    tables.answer_scores.to_parquet(art / "03_scoring" / "answer_scores.parquet", index=False)
    (art / "03_scoring" / "scorer.card.json").write_text(json.dumps(tables.card), encoding="utf-8")
    tables.candidates.to_parquet(art / "00_intake" / "candidates.parquet", index=False)
    tables.answers.to_parquet(art / "00_intake" / "answers.parquet", index=False)
    tables.questions.to_parquet(art / "00_intake" / "questions.parquet", index=False)
    shutil.copyfile(tables.dictionary.path, art / "00_intake" / "competency_dictionary.yaml")
    (art / "01_competency_model" / "competency_model.json").write_text(json.dumps(tables.competency_model), encoding="utf-8")
    for stage, extra in (("00_intake", {"params": {"data_dir": "/bank/data"}}), ("01_competency_model", {}), ("03_scoring", {})):
        record = {"stage": stage, "finished": True, "written_at": tables.scored_at, **extra}
        (run_dir / "stages" / f"{stage}.json").write_text(json.dumps(record), encoding="utf-8")
    (run_dir / "manifest.json").write_text(json.dumps({"run_id": tables.run_id, "status": "ok", "stages": []}), encoding="utf-8")
    return run_dir


def service_url(url: str) -> str:
    """``url`` if its server answers, else skip (locally) or fail (CI: a missing service must not pass silently)."""
    import pytest
    import sqlalchemy as sa

    if url.startswith("sqlite"):
        return url
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 — any failure means the service is not usable
        message = f"database {url.split('@')[-1]} not reachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return url


def corpus_names(n: int) -> tuple[str, ...]:
    """``n`` "names" that together hold every character of jieba's dictionary (≈ 12,000 characters of real Chinese
    text we did not write) and a sample of every CJK extension block (A–G) and the emoji blocks — to show that no
    writer or database drops or replaces a character, not only the ones we thought of."""
    import importlib.util
    import unicodedata

    chars: set[str] = set()
    jieba_dir = Path(importlib.util.find_spec("jieba").origin).parent  # the file only: importing jieba is slow
    with open(jieba_dir / "dict.txt", encoding="utf-8") as handle:
        for line in handle:
            chars.update(line.split(" ")[0])
    blocks = [(0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0x2CEB0, 0x2EBEF),
              (0x30000, 0x3134F), (0x1F300, 0x1FAFF)]
    chars.update(chr(c) for a, b in blocks for c in range(a, b + 1, 37) if unicodedata.category(chr(c)) not in ("Cn", "Cs", "Co"))
    ordered = sorted(c for c in chars if unicodedata.category(c)[0] != "C" and not c.isspace())
    size = -(-len(ordered) // n)
    return tuple("".join(ordered[i: i + size]) for i in range(0, len(ordered), size))
