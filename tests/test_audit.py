"""The audit stage's decisions, verdicts and reviewer report (no personal data, suppression, offline)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from workbench.fairness import append_audit_record
from workbench.fairness.audit import VERDICT_FLAG, VERDICT_OK, add_region, advance_decision, run_audit

ATTRS = ["gender", "hukou_type", "region"]


def _cohort(n=2000, female_penalty=0.0, seed=0):
    rng = np.random.default_rng(seed)
    cands = pd.DataFrame({
        "candidate_id": [f"C{i:05d}" for i in range(n)],
        "name": [f"王䶮{i}" for i in range(n)],
        "gender": rng.choice(["男", "女", None], n, p=[0.48, 0.49, 0.03]),
        "hukou_type": rng.choice(["城镇", "农村"], n, p=[0.7, 0.3]),
        "home_province": rng.choice(["四川", "广东", "北京", "江苏"], n),
        "site": rng.choice(["北京分行", "上海分行", "成都分行"], n),
    })
    score = rng.normal(60, 10, n) - female_penalty * 10 * (cands["gender"] == "女").to_numpy()
    scores = pd.DataFrame({"candidate_id": cands["candidate_id"], "role_id": rng.choice(["teller", "retail_rm"], n),
                           "machine_overall": score, "human_overall": score + rng.normal(0, 3, n),
                           "machine_professional": score + rng.normal(0, 5, n)})
    return cands, scores


def test_advance_is_top_share_per_role():
    _, scores = _cohort()
    adv = advance_decision(scores, top_share=0.2)
    for role, g in scores.assign(adv=adv).groupby("role_id"):
        assert g["adv"].sum() == int(np.ceil(0.2 * len(g)))
        assert g.loc[g["adv"] == 1, "machine_overall"].min() >= g.loc[g["adv"] == 0, "machine_overall"].max()


def test_planted_gap_is_flagged_and_fair_data_is_not():
    cands, scores = _cohort(female_penalty=0.4)
    biased = run_audit(cands, scores, attributes=ATTRS, n_boot=30)
    assert biased.verdicts.set_index("attribute").loc["gender", "verdict"] == VERDICT_FLAG
    cands, scores = _cohort(female_penalty=0.0, seed=1)
    fair = run_audit(cands, scores, attributes=ATTRS, n_boot=30)
    assert fair.verdicts.set_index("attribute").loc["gender", "verdict"] != VERDICT_FLAG


def test_report_has_no_personal_data_and_suppresses_small_cells():
    cands, scores = _cohort(n=600)
    cands.loc[:3, "hukou_type"] = "其他"  # a four-person category
    result = run_audit(cands, scores, attributes=ATTRS, n_boot=20, suppress_below=5, intersections=[["gender", "hukou_type"]])
    html = result.to_html()
    assert "王䶮" not in html and "C00001" not in html
    assert "<script" not in html and "http" not in html.split("</style>", 1)[1]
    assert "&lt;5" in html  # the tiny cell is suppressed
    assert "五分之四规则" in html and "内部基准" in html
    assert "gender × hukou_type" in set(result.selection["attribute"])
    english = result.to_html(lang="en")
    assert "Benchmark" in english


def test_missing_attribute_is_a_named_error():
    cands, scores = _cohort(n=100)
    with pytest.raises(Exception, match="ethnicity"):
        run_audit(cands, scores, attributes=["ethnicity"], n_boot=10)


def test_region_grouping():
    assert add_region(pd.DataFrame({"home_province": ["四川", "广东", None]}))["region"].tolist() == ["西南", "华南", None]


def test_cli_verify_detects_tampering(tmp_path):
    log = tmp_path / "audit.jsonl"
    for i in range(3):
        append_audit_record(log, {"run_id": f"r{i}", "verdict": VERDICT_OK})
    ok = subprocess.run([sys.executable, "-m", "workbench", "audit", "verify", str(log)], capture_output=True, text=True)
    assert ok.returncode == 0 and "3" in ok.stdout
    lines = log.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("r1", "rX")
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "workbench", "audit", "verify", str(log)], capture_output=True, text=True)
    assert bad.returncode == 1 and "2" in bad.stderr
