"""Typed errors raised by contextsieve.

Every error a user can trigger derives from :class:`ContextSieveError`, so callers can catch one type.
Input errors also derive from :class:`ValueError` so that generic validation code keeps working.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BudgetError",
    "ConfigError",
    "ContextSieveError",
    "DataNotInstalledError",
    "EmptyInputError",
    "InputError",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotInstalledError",
    "OverloadedError",
    "QueryNotFoundError",
    "TooLargeError",
]


class ContextSieveError(Exception):
    """Base class of every error contextsieve raises on purpose."""


class InputError(ContextSieveError, ValueError):
    """The context, query, prompt or documents given cannot be compressed as asked."""


class EmptyInputError(InputError):
    """A required text (context or query) is empty or only whitespace."""


class QueryNotFoundError(InputError):
    """No question could be located in a prompt given to ``compress_prompt``."""


class TooLargeError(InputError):
    """A request is over a server's limits (body bytes, context tokens or documents); a server answers 413."""


class ConfigError(ContextSieveError, ValueError):
    """An option has an invalid value or a combination of options is contradictory."""


class BudgetError(ConfigError):
    """The budget cannot be met: invalid value, or forced content alone exceeds it."""


class ModelError(ContextSieveError):
    """A model could not be found, installed, converted or loaded."""


class ModelNotInstalledError(ModelError):
    """A named model's package is not installed; the message gives the command that installs it."""


class ModelIntegrityError(ModelError):
    """A model file failed its checksum or could not be assembled."""


class DataNotInstalledError(ContextSieveError):
    """An offline evaluation corpus is not installed; the message gives the command that installs it."""


class OverloadedError(ContextSieveError):
    """The batching queue is full; try again after ``retry_after`` seconds (a server answers 503)."""

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(ContextSieveError):
    """A server refused the request's bearer token (missing or wrong); a server answers 401."""
