"""Every failure a user can meet, as a class with its message and its exit code.

The CLI prints ``error: <message>`` and exits with ``exit_code``; tracebacks only with ``--debug``.
Third-party exceptions are translated into these at the boundary so callers never depend on them.
"""

from __future__ import annotations


class TemoinError(Exception):
    """Something went wrong."""

    exit_code = 2

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


class UsageError(TemoinError):
    """The command was given something it cannot use."""

    exit_code = 2


class NotAnArchive(TemoinError):
    """This folder is not a temoin archive (no temoin.toml): run `temoin init` or pass --archive."""

    exit_code = 3


class ArchiveExists(TemoinError):
    """An archive already exists there."""

    exit_code = 3


class ArchiveLocked(TemoinError):
    """Another temoin process is writing to this archive; try again when it has finished."""

    exit_code = 4


class NotFound(TemoinError):
    """No such item."""

    exit_code = 5


class Ambiguous(TemoinError):
    """That id prefix matches several items; give more characters."""

    exit_code = 5


class Rejected(TemoinError):
    """A file was refused at ingest; the message says why in one line.

    Raised by readers and by the safe walker; the ingest loop records it and goes on.
    """

    exit_code = 6


class SomeRejected(TemoinError):
    """The batch finished, but some files were rejected (see the list above or `temoin status`)."""

    exit_code = 6


class IntegrityFault(TemoinError):
    """`verify` found damage in the vault or the custody log."""

    exit_code = 1
