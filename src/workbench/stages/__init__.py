"""The pipeline's stages, each defined in one module: its ``Params``, ``run`` and ``report``.

=====================  ====================================  ============================================
stage                  module                                what it does
=====================  ====================================  ============================================
00_intake              :mod:`workbench.stages.intake`        contracts, quarantine, counts that reconcile
01_competency_model    :mod:`workbench.stages.competency`    data-derived competency weights per role
02_question_bank       :mod:`workbench.stages.questions`     lint the questions in use; the next bank
03_scoring             :mod:`workbench.stages.scoring`       the answer scorer and its held-out evidence
04_explanations        :mod:`workbench.stages.explain`       SHAP attributions, proxy check, feedback
05_fairness_audit      :mod:`workbench.stages.fairness`      impact ratios, tests, mitigation, audit log
06_export              :mod:`workbench.stages.export`        decisions, funnel, EHR export batch, staging, WeCom
07_validity            :mod:`workbench.stages.validity`      predictive validity against post-hire outcomes
=====================  ====================================  ============================================

A notebook runs a stage as ``result = STAGE.execute(run_dir=..., lang=..., params=Params.from_namespace(globals()))``
and shows ``report(result, lang)``; ``workbench run`` executes the notebooks in this order.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ._base import RESERVED_PARAMETERS, ParamSpec, StageDef, StageParams, param, parameters_cell
from . import competency, explain, export, fairness, intake, questions, scoring, validity

__all__ = ["STAGES", "RESERVED_PARAMETERS", "ParamSpec", "StageDef", "StageParams", "get_stage", "param", "parameters_cell", "stage_names"]

STAGES: tuple[StageDef, ...] = (intake.STAGE, competency.STAGE, questions.STAGE, scoring.STAGE, explain.STAGE, fairness.STAGE, export.STAGE, validity.STAGE)


def stage_names() -> list[str]:
    return [s.name for s in STAGES]


def get_stage(name: str) -> StageDef:
    """A stage by its name (``03_scoring``) or the part after the number (``scoring``)."""
    for stage in STAGES:
        if stage.name == name or stage.name.split("_", 1)[-1] == name:
            return stage
    raise ConfigurationError(f"unknown stage {name!r}; stages are: {', '.join(stage_names())}")
