"""Fairness audit: LL144 / EEOC impact ratios, significance tests, score gaps and a tamper-evident audit log.

* :func:`impact_table` — per-category selection or scoring rate, impact ratio, exact four-fifths verdict,
  Fisher p-value, shortfall to 4/5 ("flip"), unknown counts, 2 % exclusion, intersections.
* :func:`two_proportion_z`, :func:`chi2_test`, :func:`cmh_test` (with Breslow–Day), :func:`adjust_pvalues`,
  :func:`bootstrap_intervals` — significance and uncertainty.
* :func:`group_score_gaps`, :func:`scorer_vs_human`, :func:`score_distribution_figure` — score-level views.
* :func:`append_audit_record`, :func:`verify_audit_log` — hash-chained JSON Lines log of audit runs.

The four-fifths rule is a US rule of thumb (29 CFR 1607.4D); Chinese law sets no numeric threshold, so using it
is an internal policy choice that reports should state as such.
"""

from ._auditlog import GENESIS_HASH, AuditVerification, append_audit_record, verify_audit_log
from ._impact import UNKNOWN_LABEL, impact_table
from ._scores import EFFECT_NARROWED, EFFECT_NONE, EFFECT_WIDENED, group_score_gaps, score_distribution_figure, scorer_vs_human
from ._tests import adjust_pvalues, bootstrap_intervals, chi2_test, cmh_test, two_proportion_z

__all__ = [
    "AuditVerification",
    "EFFECT_NARROWED",
    "EFFECT_NONE",
    "EFFECT_WIDENED",
    "GENESIS_HASH",
    "UNKNOWN_LABEL",
    "adjust_pvalues",
    "append_audit_record",
    "bootstrap_intervals",
    "chi2_test",
    "cmh_test",
    "group_score_gaps",
    "impact_table",
    "score_distribution_figure",
    "scorer_vs_human",
    "two_proportion_z",
    "verify_audit_log",
]
