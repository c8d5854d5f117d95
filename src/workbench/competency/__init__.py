"""Competency dictionary and (data-derived) competency models."""

from .dictionary import (
    DIMENSION_NAMES,
    DIMENSIONS,
    Competency,
    CompetencyDictionary,
    Indicator,
    Role,
    load_dictionary,
)

__all__ = ["DIMENSIONS", "DIMENSION_NAMES", "Competency", "CompetencyDictionary", "Indicator", "Role", "load_dictionary"]
