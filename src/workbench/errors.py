"""One exception hierarchy for the whole workbench.

    WorkbenchError
    ├── ConfigurationError      bad profile, unknown or ill-typed parameter
    ├── DataError               input data cannot be used
    │   └── IntakeError         a file is missing/unreadable or lacks a required column
    ├── StageFailed             a pipeline stage raised while executing
    ├── IntegrityError          a stored artifact does not match its recorded hash or versions
    │   └── DecryptionError     an encrypted export file is tampered with, swapped, or the key is wrong
    ├── StagingError            a staging database cannot be reached or written (nothing was loaded)
    ├── DeliveryError           a message channel (WeCom) cannot work at all: credentials, configuration
    └── CallbackRejected        an inbound callback or event was refused (``reason`` is a stable code)

Catch ``WorkbenchError`` to handle anything the workbench raises on purpose.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError", "ConfigurationError", "DataError", "IntakeError", "StageFailed", "IntegrityError", "DecryptionError", "StagingError",
    "DeliveryError", "CallbackRejected",
]


class WorkbenchError(Exception):
    """Base class for every error the workbench raises deliberately."""


class ConfigurationError(WorkbenchError, ValueError):
    """A profile, parameter or option is wrong. The message says which and what is allowed."""


class DataError(WorkbenchError, ValueError):
    """Input data cannot be used as given."""


class IntakeError(DataError):
    """A whole input file cannot be taken in (missing, unreadable, or a required column is absent).

    Row-level problems never raise; they go to the quarantine table instead. ``code`` is a stable ASCII code of the
    problem (``file_not_found``, ``not_text``, ``duplicate_column`` …; see ``workbench/messages/intake.yaml``).
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None, code: str | None = None):
        super().__init__(message)
        self.file = file
        self.column = column
        self.code = code


class StageFailed(WorkbenchError, RuntimeError):
    """A pipeline stage failed; carries the stage, cell and error for the run summary."""

    def __init__(self, message: str, *, stage: str, cell: int | None = None, error: str | None = None):
        super().__init__(message)
        self.stage = stage
        self.cell = cell
        self.error = error


class IntegrityError(WorkbenchError):
    """A stored artifact does not match its recorded hash or library versions."""


class DeliveryError(WorkbenchError, RuntimeError):
    """A delivery channel cannot be used (missing or refused credentials, wrong app id), or — ``transient`` —
    could not be reached at all. One message's failure is not an exception: it is recorded in the outbox."""

    def __init__(self, message: str, *, code: str, errcode: int | None = None, transient: bool = False):
        super().__init__(message)
        self.code = code
        self.errcode = errcode
        self.transient = transient


class CallbackRejected(WorkbenchError, ValueError):
    """An inbound callback or event was refused; ``reason`` is a stable code (bad_signature, replayed, …)."""

    def __init__(self, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.reason = reason


class DecryptionError(IntegrityError):
    """An encrypted export file cannot be opened: wrong key, modified or truncated ciphertext, or a file that
    belongs to another batch or name. Nothing is written when this is raised."""


class StagingError(WorkbenchError, RuntimeError):
    """A staging database could not be reached or refused a write; the whole load was rolled back."""
