"""The data-derived competency model recovers the true drivers and honours HR's overrides."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from workbench.competency import load_dictionary
from workbench.competency.model import build_competency_model
from workbench.errors import ConfigurationError


@pytest.fixture(scope="module")
def ehr(fair_cohort):
    return pd.read_csv(fair_cohort / "employees.csv"), pd.read_csv(fair_cohort / "employee_competencies.csv")


@pytest.fixture(scope="module")
def model(ehr):
    return build_competency_model(*ehr, load_dictionary(), n_bootstrap=60, seed=7)


def test_weights_rank_correlate_with_truth_for_every_role(model, fair_cohort):
    truth = json.loads((fair_cohort / "truth" / "truth.json").read_text(encoding="utf-8"))["true_weights"]
    for role, true in truth.items():
        est = model.weights(role)
        cols = list(true)
        rho = spearmanr([est[c] for c in cols], [true[c] for c in cols]).statistic
        assert rho >= 0.8, (role, rho)


def test_weights_sum_to_one_and_intervals_bracket_estimates(model):
    for role, g in model.estimates.groupby("role_id"):
        assert g["weight"].sum() == pytest.approx(1.0)
    est = model.estimates
    assert (est["effect_ci_low"] <= est["effect_size"] + 1e-9).all() and (est["effect_size"] <= est["effect_ci_high"] + 1e-9).all()
    assert est["stability"].between(0, 1).all()


def test_pinned_weights_are_kept_and_the_rest_renormalised(ehr):
    pinned = {"compliance_awareness": 0.2, "teller.customer_first": 0.1}
    m = build_competency_model(*ehr, load_dictionary(), n_bootstrap=20, pinned_weights=pinned)
    w = m.weights("teller")
    assert w["compliance_awareness"] == pytest.approx(0.2) and w["customer_first"] == pytest.approx(0.1)
    assert sum(w.values()) == pytest.approx(1.0)
    assert m.weights("retail_rm")["compliance_awareness"] == pytest.approx(0.2)
    doc = m.to_dict()
    assert doc["roles"]["teller"]["dimensions"]["culture"]["competencies"]["compliance_awareness"]["pinned"] is True


def test_small_roles_fall_back_to_equal_weights_with_a_warning(ehr):
    employees, ratings = ehr
    few = employees.groupby("role_id").head(40)
    m = build_competency_model(few, ratings[ratings["employee_id"].isin(few["employee_id"])], load_dictionary(), n_bootstrap=20, min_employees=100)
    assert not m.roles["estimated"].any()
    assert len(m.warnings) == len(m.roles)
    w = m.weights("teller")
    assert np.allclose(list(w.values()), 1 / len(w))


@pytest.mark.parametrize("pins, message", [({"nope": 0.1}, "unknown competency"), ({"teller.leadership": 0.1}, "not in that role"), ({"compliance_awareness": 1.5}, "in \\[0, 1\\]")])
def test_bad_pins_are_errors(ehr, pins, message):
    with pytest.raises(ConfigurationError, match=message):
        build_competency_model(*ehr, load_dictionary(), n_bootstrap=20, pinned_weights=pins)
