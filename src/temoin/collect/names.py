"""File names as evidence: shown readably, kept exactly.

Old cameras and zip tools write names in Latin-1 or a DOS code page. Python hands such bytes over
as lone surrogates (from the disk) or as code page 437 letters (from a zip without its UTF-8 flag);
the first cannot be stored as text at all, the second shows a name nobody wrote. A name is shown
with each byte that is not UTF-8 escaped (``caf\\xe9.jpg``), and when that happens its exact bytes
travel with it, so the custody log can give a court the name byte for byte.
"""

from __future__ import annotations

import os
import zipfile

_UTF8_FLAG = 0x800  # general purpose bit 11: the entry's name is UTF-8


def shown(raw: bytes) -> str:
    """Readable text for a name's bytes: UTF-8 where it is, ``\\xNN`` for each byte it is not.

    A NUL is escaped too: no catalog can store it in text, and a zip may hold one.
    """
    return raw.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def from_os(path: str) -> tuple[str, bytes | None]:
    """The shown form of a path the OS gave, and its exact bytes when the two differ."""
    raw = os.fsencode(path)
    text = shown(raw)
    return text, (raw if text != path else None)


def zip_raw(info: zipfile.ZipInfo) -> bytes:
    """The entry's name exactly as the zip's central directory holds it."""
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename.encode("utf-8")
    return info.orig_filename.encode("cp437")  # zipfile decoded it as cp437, which maps every byte


def from_zip(info: zipfile.ZipInfo) -> tuple[str, bytes | None]:
    """The shown form of an entry's name, and its exact bytes when they are not UTF-8.

    Without the UTF-8 flag the format says code page 437, but most tools that leave it unset
    write UTF-8 anyway (or the local code page): UTF-8 is shown as such, anything else escaped.
    """
    raw = zip_raw(info)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return shown(raw), raw


def joined(
    outer: str, outer_raw: bytes | None, inner: str, inner_raw: bytes | None
) -> bytes | None:
    """Exact bytes of ``outer!/inner`` when either part needed escaping."""
    if outer_raw is None and inner_raw is None:
        return None
    return (outer_raw or outer.encode("utf-8")) + b"!/" + (inner_raw or inner.encode("utf-8"))
