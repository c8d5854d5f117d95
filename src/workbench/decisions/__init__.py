"""Decisions on scored candidates: the hiring-stage model (and, with the export stage, ranking and rules)."""

from ._hiring import TERMINAL, TRANSITIONS, HiringStage, InvalidTransition, allowed_next, check_transition

__all__ = ["TERMINAL", "TRANSITIONS", "HiringStage", "InvalidTransition", "allowed_next", "check_transition"]
