"""A run uses its own competency dictionary everywhere — the scorer's lexicon included (issue 11).

The dictionary built here renames one positive evidence phrase of every competency; a run taken in with it must
train a scorer whose lexicon has the renamed phrases and not the default ones, and every stage must see the copy
intake took (later edits of the source file change nothing in the run)."""

from __future__ import annotations

import re

import pytest
import yaml

from workbench._paths import DATA_DIR
from workbench.competency import load_dictionary
from workbench.pipeline import open_stage, run_pipeline
from workbench.stages import competency, questions, scoring

PREFIX = "定制证据"


@pytest.fixture(scope="module")
def custom_dictionary(tmp_path_factory):
    raw = yaml.safe_load((DATA_DIR / "competency_dictionary.yaml").read_text(encoding="utf-8"))
    renamed = {}
    for i, comp in enumerate(raw["competencies"]):
        old = comp["evidence"]["positive"][0]
        new = f"{PREFIX}{i:02d}号"
        comp["evidence"]["positive"][0] = new
        renamed[comp["id"]] = (old, new)
    raw["version"] = "custom-test"
    path = tmp_path_factory.mktemp("dictionary") / "custom_dictionary.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path, renamed


def test_the_scorer_learns_the_runs_dictionary(custom_dictionary, tmp_path):
    path, renamed = custom_dictionary
    run = run_pipeline(profile="smoke", stages=["00_intake"], out=tmp_path / "run", progress=False,
                       sets=["cohort_candidates=80", "cohort_employees_per_role=10", f"dictionary_path={path}"])
    run_dir = str(run.run_dir)
    ctx = open_stage("03_scoring", run_dir=run_dir)
    assert ctx.dictionary.sha256 == load_dictionary(path).sha256 != load_dictionary().sha256
    path.write_text(path.read_text(encoding="utf-8").replace(PREFIX, "改过的"), encoding="utf-8")  # edited after intake
    competency.STAGE.execute(run_dir=run_dir, params=competency.Params(n_bootstrap=20, min_employees=5))
    questions.STAGE.execute(run_dir=run_dir, params=questions.Params(roles=["teller"], pilot_candidates_per_role=0))
    result = scoring.STAGE.execute(run_dir=run_dir, params=scoring.Params(cv_folds=2, learning_curve_sizes=[], gaming_probes=False))
    assert result.card["dictionary"]["version"] == "custom-test"
    featurizer = open_stage("04_explanations", run_dir=run_dir).scorer.pipeline_.named_steps["features"]
    assert featurizer.dictionary_["sha256"] == ctx.dictionary.sha256  # the copy intake took, not the edited file
    lexicon = set(featurizer.lexicon_)
    row_of = {c: i for i, c in enumerate(featurizer.competencies_)}
    for comp, (old, new) in renamed.items():
        positives = {w for w, on in zip(featurizer.lexicon_, featurizer.evidence_pos_[row_of[comp]]) if on}
        assert new in positives, comp
        assert old not in positives, comp
    assert not [w for w in lexicon if re.match("改过的", w)]
