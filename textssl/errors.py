"""User errors: what the ``textssl`` command turns into one line plus a hint (exit code 2).

Every error a user can cause (a bad option, a missing or damaged file, a directory that is not ours to write,
an unreachable Hub) is raised as a subclass of :class:`TextsslError`. Anything else is a bug in textssl and
keeps its traceback. Each class also derives from the builtin exception Python code would expect
(``ValueError``, ``FileNotFoundError``, ``KeyError``), so ``except ValueError`` in user code keeps working.

The catalogue of checked bad inputs, with the message each one gets, is ``docs/errors.md``.
"""

from __future__ import annotations


class TextsslError(Exception):
    """Base of every user error. ``hint`` (optional) says how to fix it; the CLI prints it after the message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:  # KeyError subclasses would otherwise print the message in quotes
        message = str(self.args[0]) if self.args else ""
        return f"{message} ({self.hint})" if self.hint else message

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(TextsslError, ValueError):
    """An option or config file value is missing, of the wrong type, or out of range."""


class InputFileError(TextsslError, FileNotFoundError):
    """A file or directory the user named does not exist or is not what the option needs."""


class DataError(TextsslError, ValueError):
    """Input data cannot be used as given (empty corpus, undecodable file, missing column, bad label)."""


class MissingKeyError(TextsslError, KeyError):
    """A required column or key is absent; the message lists the ones that exist."""


class CheckpointError(TextsslError, ValueError):
    """A checkpoint is incomplete, damaged, or does not match the run that wants to resume from it."""


class OutputExistsError(TextsslError, FileExistsError):
    """The output directory holds files this command did not create; pass ``--overwrite`` to replace them."""


class HubError(TextsslError, ConnectionError):
    """The Hugging Face Hub is unreachable (offline, no network) or refused the request."""


class TrainingError(TextsslError, ValueError):
    """Training cannot continue (e.g. the loss stayed NaN); the message says why and what to try."""


def format_error(exc: BaseException) -> str:
    """One line for the CLI: the message, then the hint when there is one."""
    if isinstance(exc, TextsslError):
        return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message
    return str(exc)
