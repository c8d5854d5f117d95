"""Decisions on scored candidates — one rule, one place, used by the fairness audit and the EHR export alike.

    make_decisions(candidate_scores, answer_scores, ...) → Decisions   everything below, computed once
    advance(scores, rule=DecisionRule(top_share=0.2))                  the machine's selection per role
    decide(scores, rule=..., answer_scores=..., review_requested=...)  advance / reject / human review, and who decided
    requested_reviews(candidates)                                      who asked for a person to decide (是/否 column)
    rank_candidates(scores)                                            rank, population size, percentile per role
    talent_pool_tags / role_suggestions / competency_scores            what the profile says beyond pass/fail
    funnel_table / funnel_alerts / alert_message                       funnel per role, batch and stage; pass-rate alerts
    funnel_figure / talent_pool_figure / decision_figure               charts with Chinese labels (English with lang="en")
    HiringStage, check_transition                                      the hiring-stage model (已完成AI面试 → … → 入职)
"""

from ._decisions import Decisions, make_decisions
from ._figures import decision_figure, funnel_figure, talent_pool_figure
from ._funnel import FUNNEL_STEPS, alert_message, funnel_alerts, funnel_table
from ._hiring import TERMINAL, TRANSITIONS, HiringStage, InvalidTransition, allowed_next, check_transition
from ._profile import ProfileRules, competency_scores, load_rules, role_suggestions, talent_pool_tags, within_role_percentile
from ._ranking import DECISIONS, RECOMMENDATIONS, REVIEW_REASONS, DecisionRule, advance, answer_routing, decide, rank_candidates, requested_reviews

__all__ = [
    "DECISIONS", "FUNNEL_STEPS", "RECOMMENDATIONS", "REVIEW_REASONS", "TERMINAL", "TRANSITIONS",
    "DecisionRule", "Decisions", "HiringStage", "InvalidTransition", "ProfileRules",
    "advance", "alert_message", "decision_figure", "funnel_figure", "talent_pool_figure", "allowed_next", "answer_routing", "check_transition", "competency_scores", "decide",
    "funnel_alerts", "funnel_table", "load_rules", "make_decisions", "rank_candidates", "requested_reviews", "role_suggestions",
    "talent_pool_tags", "within_role_percentile",
]
