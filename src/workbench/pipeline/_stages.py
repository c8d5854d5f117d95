"""The pipeline's stages in order. Each stage is a thin notebook over a library function."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._paths import NOTEBOOKS_DIR
from ..errors import ConfigurationError

__all__ = ["Stage", "STAGES", "get_stage", "stage_names"]


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    title_en: str
    requires: tuple[str, ...] = ()
    builder: str = ""  # "module:function" the notebook calls; used to build missing upstream output ad hoc

    @property
    def notebook(self) -> Path:
        return NOTEBOOKS_DIR / f"{self.name}.ipynb"


STAGES: tuple[Stage, ...] = (
    Stage("00_intake", "数据接入与校验", "Data intake and validation", builder="workbench.intake.stage:run_intake_stage"),
    Stage(
        "01_competency_model", "胜任力模型", "Competency model", requires=("00_intake",),
        builder="workbench.competency.stage:run_competency_stage",
    ),
    Stage(
        "02_question_bank", "题库生成与评估", "Question bank generation and evaluation", requires=("00_intake", "01_competency_model"),
        builder="workbench.questions.stage:run_question_stage",
    ),
    Stage(
        "03_scoring", "作答评分模型", "Answer scoring", requires=("00_intake", "01_competency_model"),
        builder="workbench.scoring.stage:run_scoring_stage",
    ),
    Stage(
        "05_fairness_audit", "公平性与合规审计", "Fairness and compliance audit", requires=("00_intake", "01_competency_model", "03_scoring"),
        builder="workbench.fairness.stage:run_audit_stage",
    ),
)

# Parameters every stage notebook declares and the runner sets itself.
RESERVED_PARAMETERS = ("run_dir",)


def stage_names() -> list[str]:
    return [s.name for s in STAGES]


def get_stage(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name or stage.name.split("_", 1)[-1] == name:
            return stage
    raise ConfigurationError(f"unknown stage {name!r}; stages are: {', '.join(stage_names())}")
