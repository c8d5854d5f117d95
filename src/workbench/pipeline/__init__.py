"""The pipeline: the papermill runner, stage contexts, parameters and profiles, run manifests and run history.

The stages themselves (parameters, computation, report) live in :mod:`workbench.stages`.
"""

from ._context import StageContext, new_run_id, open_stage
from ._params import declared_parameters, list_profiles, load_profile, resolve_parameters
from ._runner import RunResult, run_pipeline, select_stages
from ._runs import compare_runs, find_run, list_runs

__all__ = [
    "RunResult",
    "StageContext",
    "compare_runs",
    "declared_parameters",
    "find_run",
    "list_profiles",
    "list_runs",
    "load_profile",
    "new_run_id",
    "open_stage",
    "resolve_parameters",
    "run_pipeline",
    "select_stages",
]
