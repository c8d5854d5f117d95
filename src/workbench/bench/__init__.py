"""Vendor benchmark: score any question set the same way (``workbench bench questions``) and compare several
(``workbench bench leaderboard``)."""

from ._bench import benchmark_question_set, build_leaderboard, read_pilot

__all__ = ["benchmark_question_set", "build_leaderboard", "read_pilot"]
