"""The pipeline: stages, parameters and profiles, the papermill runner, run manifests and run history."""

from ._context import StageContext, new_run_id, open_stage
from ._params import ParamSpec, declared_parameters, list_profiles, load_profile, resolve_parameters
from ._runner import RunResult, run_pipeline, select_stages
from ._runs import compare_runs, find_run, list_runs
from ._stages import STAGES, Stage, get_stage, stage_names

__all__ = [
    "STAGES",
    "ParamSpec",
    "RunResult",
    "Stage",
    "StageContext",
    "compare_runs",
    "declared_parameters",
    "find_run",
    "get_stage",
    "list_profiles",
    "list_runs",
    "load_profile",
    "new_run_id",
    "open_stage",
    "resolve_parameters",
    "run_pipeline",
    "select_stages",
    "stage_names",
]
