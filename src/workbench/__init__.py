"""Workbench for the science of AI interviews in banking.

Packages, one per concern: ``intake`` (data contracts), ``competency`` (dictionary and models), ``synth``
(synthetic cohort with known truth), ``pipeline`` (papermill runner, manifests), ``reports`` (offline HTML).
"""

from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigurationError, DataError, IntakeError, IntegrityError, StageFailed, WorkbenchError

try:
    __version__ = version("workbench")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

__all__ = ["ConfigurationError", "DataError", "IntakeError", "IntegrityError", "StageFailed", "WorkbenchError", "__version__"]
