"""Batch scoring (``workbench.scoring._batch.score_file``): order, exactness, engines, quarantine, integrity, memory.

One small scorer is trained per module (1,500 synthetic answers, ``hash_bits=16`` for a small model file) and saved
with its card; every process that scores (this one, the pool workers, the dask workers) loads and verifies it itself.
Exactness does not depend on the size of the hashed feature space (the vectorised hashing is also checked with
collisions below).
"""

from __future__ import annotations

import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import DataError, IntakeError, IntegrityError
from workbench.scoring._batch import ScoreSummary, score_file
from workbench.scoring._persist import card_path_for, save_scorer
from workbench.scoring._scorer import AnswerScorer


# ------------------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    from workbench.synth import generate_cohort, scenario_config

    out = tmp_path_factory.mktemp("batch") / "cohort"
    generate_cohort(scenario_config("fair", seed=11, n_candidates=400, employees_per_role=0), out, fmt="parquet")
    answers = pd.read_parquet(out / "answers.parquet")
    questions = pd.read_parquet(out / "questions.parquet")
    ratings = pd.read_parquet(out / "ratings.parquet")
    answers = answers.merge(questions[["question_id", "competency_id"]], on="question_id", how="left", validate="many_to_one")
    answers["y"] = answers["answer_id"].map(ratings.groupby("answer_id")["rating"].mean())
    assert len(answers) >= 3_000
    return {"dir": out, "answers": answers, "questions": out / "questions.parquet"}


@pytest.fixture(scope="module")
def model(cohort, tmp_path_factory):
    train = cohort["answers"].iloc[:1_500]
    scorer = AnswerScorer(hash_bits=16).fit(
        pd.DataFrame({"answer": train["answer_text"], "competency": train["competency_id"]}), train["y"]
    )
    path, card = save_scorer(scorer, tmp_path_factory.mktemp("model") / "scorer.skops", card={"model_version": "test-1"})
    # the in-memory estimator is the reference: batch scores must equal it, so the skops round trip is checked too
    return {"path": path, "card": card, "scorer": scorer}


def _answers_file(cohort, tmp_path, rows: slice, *, fmt="parquet", with_competency=False):
    frame = cohort["answers"].iloc[rows]
    cols = ["answer_id", "candidate_id", "question_id", "status", "answer_text"] + (["competency_id"] if with_competency else [])
    path = tmp_path / f"answers.{fmt}"
    if fmt == "parquet":
        frame[cols].to_parquet(path, index=False)
    else:
        frame[cols].to_csv(path, index=False, encoding="utf-8")
    return path, frame.reset_index(drop=True)


def _reference(model, frame: pd.DataFrame):
    X = pd.DataFrame({"answer": frame["answer_text"].tolist(), "competency": frame["competency_id"].tolist()})
    return model["scorer"].predict(X), model["scorer"].predict_rating(X)


# ------------------------------------------------------------------------------------------------------------
# exactness and order
# ------------------------------------------------------------------------------------------------------------
def test_parquet_input_order_ids_and_scores_match_predict(cohort, model, tmp_path):
    src, frame = _answers_file(cohort, tmp_path, slice(0, 2_000))
    out = tmp_path / "scores.parquet"
    summary = score_file(model["path"], src, out, questions_path=cohort["questions"], chunk_size=300, progress=False)

    assert isinstance(summary, ScoreSummary) and summary.reconciled
    assert (summary.rows_in, summary.scored, summary.quarantined) == (2_000, 2_000, 0)
    scores = pd.read_parquet(out)
    assert list(scores.columns) == ["answer_id", "row", "score", "rating", "advisories", "route", "model_sha256", "model_version"]
    assert scores["row"].tolist() == list(range(2, 2_002))  # intake's row numbers: header = row 1
    assert scores["answer_id"].tolist() == frame["answer_id"].tolist()
    expected, expected_rating = _reference(model, frame)
    np.testing.assert_allclose(scores["score"].to_numpy(), expected, rtol=0, atol=1e-9)
    assert scores["rating"].tolist() == expected_rating.tolist()
    assert scores["rating"].between(1, 5).all()
    # the advisories are the scorer's own, answer by answer (a human-routed answer must not be decided by its score)
    reference = model["scorer"].score(pd.DataFrame({"answer": frame["answer_text"].tolist(), "competency": frame["competency_id"].tolist()}))
    assert scores["route"].tolist() == reference["route"].tolist() and scores["advisories"].fillna("").tolist() == reference["advisories"].tolist()
    card_sha = pd.read_json(model["card"], typ="series")["sha256"]
    assert (scores["model_sha256"] == card_sha).all() and summary.model_sha256 == card_sha
    assert (scores["model_version"] == "test-1").all()
    quarantine = pd.read_csv(summary.quarantine_path)
    assert len(quarantine) == 0 and "reason_code" in quarantine.columns
    assert "rows in" in summary._repr_html_()


def test_csv_input_with_competency_column_and_csv_output(cohort, model, tmp_path):
    src, frame = _answers_file(cohort, tmp_path, slice(500, 1_700), fmt="csv", with_competency=True)
    out = tmp_path / "scores.csv"
    summary = score_file(model["path"], src, out, chunk_size=250, progress=True)  # progress bar on: must not break anything

    assert (summary.rows_in, summary.scored, summary.quarantined) == (1_200, 1_200, 0)
    scores = pd.read_csv(out, encoding="utf-8-sig")
    assert scores["answer_id"].tolist() == frame["answer_id"].tolist()
    assert scores["row"].tolist() == list(range(2, 1_202))
    expected, expected_rating = _reference(model, frame)
    np.testing.assert_allclose(scores["score"].to_numpy(), expected, rtol=0, atol=1e-9)
    assert scores["rating"].tolist() == expected_rating.tolist()


def test_local_pool_equals_serial(cohort, model, tmp_path):
    src, _ = _answers_file(cohort, tmp_path, slice(0, 1_200))
    serial = score_file(model["path"], src, tmp_path / "a.parquet", questions_path=cohort["questions"], chunk_size=200, progress=False)
    pooled = score_file(model["path"], src, tmp_path / "b.parquet", questions_path=cohort["questions"], chunk_size=200, jobs=2,
                        progress=False)
    a, b = pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    assert pooled.scored == serial.scored == 1_200
    assert a["answer_id"].tolist() == b["answer_id"].tolist() and a["row"].tolist() == b["row"].tolist()
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert np.array_equal(a["rating"].to_numpy(), b["rating"].to_numpy())
    assert pooled.max_buffered_rows <= 2 * 200  # bounded: two chunks in flight at most


def test_dask_local_cluster_equals_local(cohort, model, tmp_path):
    src, _ = _answers_file(cohort, tmp_path, slice(0, 3_000))
    local = score_file(model["path"], src, tmp_path / "local.parquet", questions_path=cohort["questions"], chunk_size=500, progress=False)
    dask = score_file(model["path"], src, tmp_path / "dask.parquet", questions_path=cohort["questions"], chunk_size=500, jobs=2,
                      engine="dask", progress=False)
    a, b = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    assert dask.scored == local.scored == 3_000 and dask.engine == "dask"
    assert a["answer_id"].tolist() == b["answer_id"].tolist()
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())
    assert np.array_equal(a["rating"].to_numpy(), b["rating"].to_numpy())


def test_dask_existing_scheduler_gets_the_model_as_verified_bytes(cohort, model, tmp_path, monkeypatch):
    """Joining a running cluster: the model is broadcast as bytes and loaded (hash-verified) on the worker."""
    import logging

    from dask.distributed import LocalCluster

    import workbench.scoring._batch as batch

    src, frame = _answers_file(cohort, tmp_path, slice(0, 400))
    loaded = []
    real_load = batch.load_scorer
    monkeypatch.setattr(batch, "load_scorer", lambda path, **kw: loaded.append((Path(path).name, kw)) or real_load(path, **kw))
    batch._MODEL_CACHE.clear()  # the in-process worker must not reuse this process's cached model
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None, silence_logs=logging.ERROR) as cluster:
        summary = score_file(model["path"], src, tmp_path / "s.parquet", questions_path=cohort["questions"], engine="dask",
                             scheduler=cluster.scheduler_address, chunk_size=100, progress=False)
    assert summary.scored == 400
    assert ("model.skops", {"expected_sha256": summary.model_sha256}) in loaded  # the shipped copy, sha-checked
    expected, _ = _reference(model, frame)
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "s.parquet")["score"].to_numpy(), expected, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------------------------------------------
# quarantine: nothing is dropped silently
# ------------------------------------------------------------------------------------------------------------
def test_unscorable_rows_are_quarantined_with_reasons(cohort, model, tmp_path):
    good = cohort["answers"].iloc[:20][["answer_id", "status", "answer_text", "competency_id"]].reset_index(drop=True)
    bad = pd.DataFrame(
        [
            {"answer_id": "B-empty", "status": "answered", "answer_text": "   ", "competency_id": "aml_cdd"},
            {"answer_id": "B-none", "status": "answered", "answer_text": None, "competency_id": "aml_cdd"},
            {"answer_id": None, "status": "answered", "answer_text": "我先核实了客户身份。", "competency_id": "aml_cdd"},
            {"answer_id": "  ", "status": "answered", "answer_text": "我先核实了客户身份。", "competency_id": "aml_cdd"},
            {"answer_id": "B-unknown", "status": "answered", "answer_text": "我先核实了客户身份。", "competency_id": "astrology"},
            {"answer_id": "B-long", "status": "answered", "answer_text": "我" * 6_000, "competency_id": "aml_cdd"},
            {"answer_id": "=HYPERLINK(\"x\")", "status": "answered", "answer_text": "", "competency_id": "aml_cdd"},
            {"answer_id": "B-two", "status": "answered", "answer_text": None, "competency_id": None},
            {"answer_id": "B-silent", "status": "no_response", "answer_text": None, "competency_id": "aml_cdd"},  # scored
        ]
    )
    frame = pd.concat([good.iloc[:10], bad, good.iloc[10:]], ignore_index=True)
    src = tmp_path / "mixed.parquet"
    frame.to_parquet(src, index=False)
    summary = score_file(model["path"], src, tmp_path / "s.parquet", chunk_size=7, progress=False)

    assert summary.rows_in == len(frame) == 29
    assert summary.quarantined == 8 and summary.scored == 21 and summary.reconciled
    scores = pd.read_parquet(tmp_path / "s.parquet")
    assert "B-silent" in set(scores["answer_id"])  # no_response with empty text is scored as the empty answer
    assert scores["row"].is_monotonic_increasing
    quarantine = pd.read_csv(summary.quarantine_path, encoding="utf-8-sig", keep_default_na=False)
    assert quarantine["row"].nunique() == summary.quarantined  # intake's format: one line per problem
    by_row = quarantine.groupby("row")["reason_code"].agg(";".join).to_dict()
    start = 10 + 2  # row numbers as intake gives them: header = row 1
    assert by_row[start + 0] == "empty_text"
    assert by_row[start + 1] == "empty_text"
    assert by_row[start + 2] == "missing_id"
    assert by_row[start + 3] == "missing_id"
    assert by_row[start + 4] == "unknown_competency"
    assert by_row[start + 5] == "text_too_long"
    assert by_row[start + 6] == "empty_text"
    assert by_row[start + 7] == "empty_text;unknown_competency"  # every problem of a row is listed
    assert summary.quarantine_reasons == {"empty_text": 4, "missing_id": 2, "unknown_competency": 2, "text_too_long": 1}
    assert all(quarantine["reason"].str.len() > 0)
    formula_id = quarantine.loc[quarantine["row"] == start + 6, "answer_id"].item()
    assert formula_id.startswith("'=")  # formula neutralised for spreadsheets
    long_value = quarantine.loc[quarantine["row"] == start + 5, "value"].item()
    assert len(long_value) < 200  # a preview, not the whole text


def test_non_text_values_and_unknown_questions_are_quarantined(cohort, model, tmp_path):
    src = tmp_path / "ints.parquet"
    pd.DataFrame({"answer_id": ["x1", "x2"], "answer_text": [12345, 678], "competency_id": ["aml_cdd", "aml_cdd"]}).to_parquet(src)
    summary = score_file(model["path"], src, tmp_path / "o.csv", progress=False)
    assert (summary.scored, summary.quarantined) == (0, 2) and summary.quarantine_reasons == {"non_text": 2}
    assert pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig").empty  # header only

    src2 = tmp_path / "q.csv"
    pd.DataFrame({"answer_id": ["y1", "y2"], "question_id": ["no.such.q", cohort["answers"]["question_id"].iloc[0]],
                  "answer_text": ["我先核实了客户身份。", "我先核实了客户身份。"]}).to_csv(src2, index=False)
    summary = score_file(model["path"], src2, tmp_path / "o2.parquet", questions_path=cohort["questions"], progress=False)
    assert (summary.scored, summary.quarantined) == (1, 1) and summary.quarantine_reasons == {"unknown_competency": 1}


# ------------------------------------------------------------------------------------------------------------
# refusing bad models and bad inputs
# ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("jobs", [1, 2])
def test_tampered_model_is_refused_before_any_output(cohort, model, tmp_path, jobs):
    src, _ = _answers_file(cohort, tmp_path, slice(0, 50))
    bad = tmp_path / "m" / "scorer.skops"
    bad.parent.mkdir()
    shutil.copy(model["path"], bad)
    shutil.copy(model["card"], card_path_for(bad))
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    with pytest.raises(IntegrityError, match="modified"):
        score_file(bad, src, out_dir / "s.parquet", questions_path=cohort["questions"], jobs=jobs, progress=False)
    assert not out_dir.exists() or not any(out_dir.iterdir())

    card_path_for(bad).unlink()  # a model without its card is refused too
    shutil.copy(model["path"], bad)
    with pytest.raises(IntegrityError, match="card"):
        score_file(bad, src, out_dir / "s.parquet", questions_path=cohort["questions"], jobs=jobs, progress=False)
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_missing_input_file_or_columns_raise_data_error(cohort, model, tmp_path):
    with pytest.raises(DataError, match="not found") as missing:
        score_file(model["path"], tmp_path / "nope.parquet", tmp_path / "s.parquet", progress=False)
    assert "nope.parquet" in str(missing.value)

    src = tmp_path / "a.csv"
    pd.DataFrame({"answer_id": ["a"], "text": ["我先核实了客户身份。"], "competency_id": ["aml_cdd"]}).to_csv(src, index=False)
    with pytest.raises(IntakeError) as no_text:
        score_file(model["path"], src, tmp_path / "s.parquet", progress=False)
    assert no_text.value.column == "answer_text" and "a.csv" in str(no_text.value) and "answer_text" in str(no_text.value)
    summary = score_file(model["path"], src, tmp_path / "s.parquet", text_column="text", progress=False)  # named explicitly: fine
    assert summary.scored == 1

    src2 = tmp_path / "b.parquet"
    pd.DataFrame({"id": ["a"], "answer_text": ["我先核实了客户身份。"], "competency_id": ["aml_cdd"]}).to_parquet(src2)
    with pytest.raises(DataError, match="answer_id") as no_id:
        score_file(model["path"], src2, tmp_path / "s.parquet", progress=False)
    assert no_id.value.column == "answer_id" and "b.parquet" in str(no_id.value)

    src3 = tmp_path / "c.parquet"
    pd.DataFrame({"answer_id": ["a"], "answer_text": ["我先核实了客户身份。"], "question_id": ["q"]}).to_parquet(src3)
    with pytest.raises(DataError, match="competency_id") as no_comp:  # no competency and no questions table
        score_file(model["path"], src3, tmp_path / "s.parquet", progress=False)
    assert no_comp.value.column == "competency_id"
    assert not (tmp_path / "s.parquet.quarantine.csv").read_text(encoding="utf-8-sig").count("\n") > 1  # from the earlier run only


# ------------------------------------------------------------------------------------------------------------
# memory does not grow with the input
# ------------------------------------------------------------------------------------------------------------
def test_peak_memory_does_not_grow_with_rows(cohort, model, tmp_path):
    answers = cohort["answers"][["answer_id", "status", "answer_text", "competency_id"]]
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    answers.iloc[:500].to_parquet(small, index=False)
    pd.concat([answers.iloc[:500]] * 4, ignore_index=True).to_parquet(large, index=False)  # 4× the rows, same texts
    chunk = 125
    score_file(model["path"], small, tmp_path / "warm.parquet", chunk_size=chunk, progress=False)  # model, caches, imports

    peaks, buffered = {}, {}
    for name, src in (("small", small), ("large", large)):
        tracemalloc.start()
        try:
            summary = score_file(model["path"], src, tmp_path / f"{name}.out.parquet", chunk_size=chunk, progress=False)
            peaks[name] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        buffered[name] = summary.max_buffered_rows
    assert buffered["small"] == buffered["large"] == chunk
    ratio = peaks["large"] / peaks["small"]
    assert ratio <= 1.3, f"peak traced memory grew {ratio:.2f}× for 4× the rows ({peaks})"


def test_cli_score_with_renamed_columns_reports_and_reconciles(cohort, model, tmp_path, capsys):
    from workbench.cli import main

    frame = cohort["answers"].iloc[:300].rename(columns={"answer_id": "编号", "answer_text": "回答", "competency_id": "能力"})
    frame.loc[frame.index[5], "回答"] = "x" * 6_000  # too long: quarantined with its reason
    src = tmp_path / "renamed.csv"
    frame[["编号", "status", "回答", "能力"]].to_csv(src, index=False)
    out = tmp_path / "out.csv"
    code = main(["--lang", "en", "score", "--model", str(model["path"]), "--answers", str(src), "--out", str(out), "--id-column", "编号",
                 "--text-column", "回答", "--competency-column", "能力", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "300 rows: 299 scored, 1 quarantined (reconciled: True)" in printed
    assert "text_too_long: 1" in printed and "model test-1" in printed
    scores = pd.read_csv(out, encoding="utf-8-sig")
    assert scores["编号"].tolist() == [i for k, i in enumerate(frame["编号"]) if k != 5]
    expected, _ = _reference(model, cohort["answers"].iloc[:300].drop(index=cohort["answers"].index[5]))
    np.testing.assert_allclose(scores["score"].to_numpy(), expected, rtol=0, atol=1e-9)
