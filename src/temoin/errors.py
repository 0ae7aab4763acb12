"""Every failure a user can meet, as a class with its message and its exit code.

The CLI prints ``error: <message>`` and exits with ``exit_code``; tracebacks only with ``--debug``.
Third-party exceptions are translated into these at the boundary so callers never depend on them.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeGuard


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


class DamageNotAcknowledged(UsageError):
    """This item's original is damaged (cut short or undecodable): approve it only saying you have
    seen that (`--damaged-ok`, or the box on its review page)."""


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


class AmbiguousStory(Ambiguous):
    """Several stories match that title; give the slug of one (`temoin story ls`)."""


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


class InterruptedWrite(TemoinError):
    """`verify` found blobs an interrupted write left behind; the next ingest collects them."""

    exit_code = 8


class CatalogMismatch(TemoinError):
    """The catalog does not match this vault: restore it or run `temoin verify`."""

    exit_code = 9


class CatalogDamaged(TemoinError):
    """The catalog cannot be read: it is damaged or not a temoin catalog; restore it from a copy."""

    exit_code = 1


class CatalogUnreachable(TemoinError):
    """The catalog's database server could not be reached or refused the connection: check that
    it is running and that `database_url` names it."""

    exit_code = 11


class ReadOnlyArchive(TemoinError):
    """The archive is read-only (a write-protected card?): it can be verified and listed, not
    changed; copy it somewhere writable to go on."""

    exit_code = 3


class FileError(TemoinError):
    """A file or folder could not be read or written; nothing already stored was lost."""

    exit_code = 10


class DiskFull(FileError):
    """The disk is full: free some space and run the command again; nothing already stored was lost."""

    @classmethod
    def writing(cls, name: str) -> DiskFull:
        return cls(
            f"{name}: disk full: free some space and run the command again "
            "(nothing already stored was lost)"
        )


# A full file system, a full quota and a file-size limit look alike to a writer: no more room.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: BaseException) -> TypeGuard[OSError]:
    """Whether a failed write means "no room left" rather than damage or a bad file."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


@contextmanager
def naming_disk_full(name: str) -> Iterator[None]:
    """A failed ``write()`` does not say which file it was writing; this says it for the user."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFull.writing(name) from exc
        raise


# -- commands ---------------------------------------------------------------------------------------


class FacesFound(TemoinError):
    """The audit still sees faces or metadata on files meant for publication (listed above)."""

    exit_code = 1


class RedactFailed(TemoinError):
    """Some items could not be redacted (listed above); they stay unpublishable."""

    exit_code = 6


# -- protect -----------------------------------------------------------------------------------


class UnknownPerson(NotFound):
    """No such person in the consent register (see `temoin people ls`)."""


class RedactionFailed(TemoinError):
    """The file could not be redacted; nothing was written."""

    exit_code = 6


class KeyUnreadable(TemoinError):
    """The archive's signing key in keys/ cannot be read; derivatives cannot be signed."""

    exit_code = 3


class NotRedacted(TemoinError):
    """This item has no current derivative: run `temoin redact` first."""

    exit_code = 5


class ExiftoolMissing(TemoinError):
    """Debian's exiftool is not installed (apt install libimage-exiftool-perl); cannot audit."""

    exit_code = 2


# -- publish -----------------------------------------------------------------------------------


class BagFailed(TemoinError):
    """The BagIt package could not be made; nothing was recorded as exported."""

    exit_code = 1


class BadRecipients(TemoinError):
    """The recipients file cannot be used (it needs name,email lines)."""

    exit_code = 2


class NoDispatch(TemoinError):
    """This story has no dispatch that the gate lets out: there is nothing to send."""

    exit_code = 5


class SendFailed(TemoinError):
    """The mail server could not be reached or refused the newsletter; nothing more was sent."""

    exit_code = 7


class StoryExists(TemoinError):
    """A story with that name already exists; give another title or --slug."""

    exit_code = 2


# -- serve -------------------------------------------------------------------------------------


class UploadError(TemoinError):
    """The upload cannot be accepted."""

    status = 400


class TooLarge(UploadError):
    """The file is larger than this server accepts."""

    status = 413


class NoSuchUser(TemoinError):
    """No account with that name."""

    exit_code = 5


class UserExists(TemoinError):
    """An account with that name already exists."""

    exit_code = 3


class ArchiveSealed(TemoinError):
    """An encrypted archive asked for while it is locked: nothing of it can be read."""

    exit_code = 3


class WrongPassphrase(ArchiveSealed):
    """The passphrase does not open the key file (or the key file was altered)."""


class KeyRolledBack(ArchiveSealed):
    """An older key file than the archive has seen was put back."""


class KeyWiped(ArchiveSealed):
    """The archive's key was destroyed (`temoin wipe`): nothing of it decrypts any more."""


class SealBroken(IntegrityFault):
    """A sealed file does not decrypt, or decrypts to other bytes than its name says."""
