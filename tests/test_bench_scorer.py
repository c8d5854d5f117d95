"""Scorer benchmark: published answer set + key, a vendor's scores file, the scorecard and the leaderboard."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from cli_support import run_cli

from workbench._hashing import sha256_file
from workbench.bench import build_leaderboard, evaluate_scorer, read_scores
from workbench.bench._scorers import PUBLISHED_COLUMNS
from workbench.errors import IntakeError


def _cli(*args):
    return run_cli(*args)  # `python -m workbench ARGS`, in this process


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("scorer_bench")
    proc = _cli("bench", "answers", "--out", str(root / "pub"), "--key", str(root / "key"), "--candidates", "300", "--seed", "13", "--probe-questions", "12")
    assert proc.returncode == 0, proc.stderr
    key = pd.read_parquet(root / "key" / "answers_key.parquet")
    return root, key


def _write(root, name, frame, **kw):
    path = root / name
    frame.to_csv(path, index=False, **kw)
    return path


def _oracle(key, *, noise=0.35, shift_women=0.0, seed=0):
    """A scorer that sees the human ratings (plus noise); it gives every probe the bottom score, as a human would."""
    rng = np.random.default_rng(seed)
    g = key[key["probe_kind"].isna()]
    score = g["human"] + rng.normal(0, noise, len(g)) - shift_women * (g["gender"] == "女")
    probes = key[key["probe_kind"].notna()]
    return pd.concat([pd.DataFrame({"answer_id": g["answer_id"], "score": np.clip(score, 1, 5).round(4)}),
                      pd.DataFrame({"answer_id": probes["answer_id"], "score": 1.0})], ignore_index=True)


def test_published_set_holds_no_ratings_and_probes_look_like_answers(bench):
    root, key = bench
    pub = pd.read_csv(root / "pub" / "answers.csv", dtype=str)
    assert list(pub.columns) == PUBLISHED_COLUMNS
    assert pub["answer_id"].map(lambda s: bool(re.fullmatch(r"A[0-9a-f]{8}", s))).all() and pub["answer_id"].is_unique
    assert len(pub) == len(key) and set(pub["answer_id"]) == set(key["answer_id"])
    probes = key[key["probe_kind"].notna()]
    assert len(probes) == 12 * 7 and probes["reference_answer_id"].isin(set(key["answer_id"])).all()
    manifest = json.loads((root / "pub" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["answers_sha256"] == sha256_file(root / "pub" / "answers.csv")
    published_text = " ".join(p.read_text(encoding="utf-8-sig") for p in (root / "pub").iterdir())
    assert "human" not in published_text and "candidate_id" not in published_text and '"seed"' not in published_text
    meta = json.loads((root / "key" / "key.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 13 and meta["published_answers_sha256"] == manifest["answers_sha256"]


def test_noisy_human_ranks_above_random_and_bias_is_flagged(bench):
    root, key = bench
    rng = np.random.default_rng(1)
    cards = {}
    for name, frame in (("noisy", _oracle(key)), ("random", pd.DataFrame({"answer_id": key["answer_id"], "score": rng.uniform(1, 5, len(key)).round(3)})),
                        ("biased", _oracle(key, shift_women=0.6))):
        ev = evaluate_scorer(_write(root, f"{name}.csv", frame), root / "key", name=name)
        ev.save(root / f"card_{name}")
        cards[name] = ev.summary()
    assert cards["noisy"]["score"] > cards["random"]["score"] + 30
    assert cards["random"]["verdict"] == "fail" and cards["random"]["qwk"] < 0.2
    assert cards["noisy"]["verdict"] in ("good", "needs_work") and not cards["noisy"]["bias_flag"] and not cards["noisy"]["adverse_impact_flag"]
    assert cards["biased"]["verdict"] == "flagged" and "gender=女" in cards["biased"]["flagged_groups"]
    assert cards["noisy"]["probes_beaten"] == 0 and cards["random"]["probes_beaten"] > 0
    tables = build_leaderboard([root / "card_random", root / "card_biased", root / "card_noisy"])
    assert list(tables["scorers"]["名称"]) == ["noisy", "biased", "random"]


def test_reproduces_notebook_03_acceptance_figures(bench):
    """Notebook 03 (stages/scoring.py) computes acceptance_table on out-of-fold scores of answer_dataset(tables) with
    the demographic columns present; bench scorer on the same scores must give the same table."""
    from workbench.competency import load_dictionary
    from workbench.intake import resolve_sources, run_intake
    from workbench.scoring import DEMOGRAPHICS, AnswerScorer, answer_dataset, cross_validate
    from workbench.stages.scoring import _acceptance

    root, key = bench
    tables = run_intake(resolve_sources(root / "key" / "cohort")).tables
    data, _ = answer_dataset(tables)
    scorer = AnswerScorer(random_state=7)
    features = scorer.featurize(data[["answer", "competency", "question_id", "question_text"]])
    cv = cross_validate(scorer, features, data["human"], groups=data["candidate_id"], folds=2, seed=7, single_ratings=data[["human1", "human2"]].to_numpy(float))
    oof = data[["answer_id"]].join(cv.scores[["machine", "machine_rating"]])
    demographics = tuple(c for c in DEMOGRAPHICS if c in data.columns)
    tables03 = _acceptance(data.join(cv.scores[["machine", "machine_rating"]]), load_dictionary(), demographics)
    expected, expected_dim = tables03["competency"], tables03["dimension"]
    ids = dict(zip(key["source_answer_id"], key["answer_id"]))
    scores = _write(root, "workbench_oof.csv", pd.DataFrame({"answer_id": oof["answer_id"].map(ids), "score": oof["machine"], "rating": oof["machine_rating"]}))
    ev = evaluate_scorer(scores, root / "key", name="workbench")
    ev.save(root / "card_workbench")
    pd.testing.assert_frame_equal(ev.acceptance.reset_index(drop=True), expected.reset_index(drop=True), check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(ev.acceptance_by_dimension.reset_index(drop=True), expected_dim.reset_index(drop=True), check_exact=False, rtol=1e-9, atol=1e-12)


def test_bad_scores_files_are_findings_not_crashes(bench, tmp_path):
    root, key = bench
    genuine = key[key["probe_kind"].isna()]["answer_id"].tolist()
    rows = pd.DataFrame({
        "作答编号": [genuine[0], genuine[1], genuine[2], genuine[2], genuine[3], "A-not-ours", genuine[4], "", genuine[5], genuine[6]],
        "分数": ["3.5", "高", "7", "2", "", "3", "4.2", "3", "2.0", "0.5"],
        "等级": ["4", "", "", "", "", "", "4.5", "", "2", ""],
    })
    gbk = tmp_path / "scores_gbk.csv"
    rows.to_csv(gbk, index=False, encoding="gbk")
    scores, problems, info = read_scores(gbk, set(key["answer_id"]))
    assert info["encoding"] == "gb18030" and info["rows_in"] == 10 and info["accepted"] + info["quarantined_rows"] == 10
    by_code = problems.groupby("reason_code")["row"].apply(sorted).to_dict()
    assert by_code == {"not_number": [3], "duplicate_key": [4, 5], "missing_value": [6, 9], "unknown_reference": [7], "not_integer": [8], "out_of_range": [11]}, by_code
    assert list(scores["answer_id"]) == [genuine[0], genuine[5]] and list(scores["machine_rating"]) == [4, 2]
    ev = evaluate_scorer(gbk, root / "key")
    s = ev.summary()
    assert s["scored"] == 2 and s["coverage_rate"] < 0.01 and s["bad_rows"] == 8 and s["verdict"] == "fail"
    assert "评分文件问题" in ev.to_html()
    # a workbook with an instructions sheet first and Chinese sheet names
    xlsx = tmp_path / "scores.xlsx"
    with pd.ExcelWriter(xlsx) as xw:
        pd.DataFrame({"说明": ["分数为 1–5 分"]}).to_excel(xw, sheet_name="说明", index=False)
        _oracle(key).rename(columns={"answer_id": "作答编号", "score": "得分"}).to_excel(xw, sheet_name="评分结果", index=False)
    full, problems, info = read_scores(xlsx, set(key["answer_id"]))
    assert info["sheet"] == "评分结果" and len(full) == len(key) and problems.empty
    with pytest.raises(IntakeError, match="answer_id"):
        read_scores(_write(tmp_path, "no_id.csv", pd.DataFrame({"score": [1]})), set(key["answer_id"]))
    with pytest.raises(IntakeError, match="score"):
        read_scores(_write(tmp_path, "no_score.csv", pd.DataFrame({"answer_id": [genuine[0]], "comment": ["x"]})), set(key["answer_id"]))


def test_cli_scorer_and_leaderboard_with_both_kinds(bench, tmp_path):
    root, key = bench
    scores = _write(tmp_path, "noisy.csv", _oracle(key, seed=5))
    proc = _cli("bench", "scorer", str(scores), "--key", str(root / "key"), "--out", str(tmp_path / "s"), "--name", "<b>vendor</b>")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "s" / "scorecard.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;vendor" in html and "<b>vendor" not in html and "ETS" in html and "http" not in html
    proc = _cli("bench", "questions", str(root.parent.parent / "nope.csv"), "--out", str(tmp_path / "q"))
    assert proc.returncode == 2
    bad = _cli("bench", "scorer", str(scores), "--key", str(tmp_path), "--out", str(tmp_path / "s2"))
    assert bad.returncode == 2 and "key" in bad.stderr
    from workbench._paths import PROJECT_ROOT

    q = _cli("bench", "questions", str(PROJECT_ROOT / "benchmark" / "vendor_sets" / "vendor_b.csv"), "--out", str(tmp_path / "q"))
    assert q.returncode == 0, q.stderr
    board = _cli("bench", "leaderboard", str(tmp_path / "q"), str(tmp_path / "s"), "--html", str(tmp_path / "board.html"))
    assert board.returncode == 0, board.stderr
    assert "题目集" in board.stdout and "评分器" in board.stdout
    page = (tmp_path / "board.html").read_text(encoding="utf-8")
    assert 'lang="zh-CN"' in page and "&lt;b&gt;vendor" in page and "<script" not in page
