"""Every option, once: its name, default, help, and the values it may take.

Precedence: defaults < the archive's ``temoin.toml`` < ``TEMOIN_<NAME>`` environment variables <
explicit arguments (CLI flags). Settings are passed explicitly; there is no module-level config.

Each value is checked where it comes in, against the type of its default and the check its field
declares, so a bad one is refused at open with the setting, the value, where it came from and what
is allowed, rather than misbehaving in the middle of a batch (a zero read size once rejected every
file as empty and logged it for good).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from temoin.errors import UsageError
from temoin.timeutil import check_zone

# A check answers why a value is refused, or None when it is fine.
Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Between:
    """A whole number from ``low`` to ``high`` (no upper bound when ``high`` is None)."""

    low: int
    high: int | None = None

    def __call__(self, value: int) -> str | None:
        if value < self.low or (self.high is not None and value > self.high):
            return f"must be {self}"
        return None

    def __str__(self) -> str:
        if self.high is None:
            return f"at least {self.low:,}"
        return f"from {self.low:,} to {self.high:,}"


def _zone(value: str) -> str | None:
    try:
        check_zone(value)
    except UsageError:
        return "not an IANA time zone name (e.g. Europe/Paris)"
    return None


def _recall(value: str) -> str | None:
    from temoin.protect.profiles import profile

    try:
        profile(value)
    except ValueError as exc:
        return str(exc)
    return None


def _https_link(value: str) -> str | None:
    """Written into pages as a link: ``https:`` only (see temoin/links.py)."""
    from temoin.links import link_refusal

    return link_refusal(value, ("https",)) if value else None


def _donation_link(value: str) -> str | None:
    from temoin.links import link_refusal

    return link_refusal(value, ("https", "mailto")) if value else None


def _address(value: str) -> str | None:
    """Written into ``mailto:`` links: a plain address only."""
    from temoin.links import address_refusal

    return address_refusal(value) if value else None


def _language(value: str) -> str | None:
    from temoin.i18n import LANGUAGES

    return None if value in LANGUAGES else f"must be one of {', '.join(LANGUAGES)}"


def _database_url(value: str) -> str | None:
    if not value:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError:
        return "not an SQLAlchemy URL (e.g. postgresql://user@host/temoin)"
    return None


def _jobs(value: str) -> str | None:
    return None if value in ("pool", "procrastinate") else "must be pool or procrastinate"


def _opt(default: Any, help: str, check: Check | None = None) -> Any:
    return field(default=default, metadata={"help": help, "check": check})


@dataclass(frozen=True)
class Settings:
    name: str = _opt("", "The archive's name, shown on reports and the published site.")
    timezone: str = _opt(
        "UTC", "IANA time zone for naive local times (e.g. Europe/Paris).", check=_zone
    )
    actor: str = _opt("", "Who is acting, recorded in every custody event (default: the OS user).")
    database_url: str = _opt(
        "",
        "SQLAlchemy URL of the catalog; empty means SQLite inside the archive folder.",
        check=_database_url,
    )
    jobs: str = _opt(
        "pool",
        "Where the web app runs its jobs: pool (threads in its own process) or procrastinate "
        "(a queue in the PostgreSQL catalog, with `temoin worker` processes).",
        check=_jobs,
    )
    max_file_bytes: int = _opt(
        8 * 1024**3, "Files larger than this are rejected at ingest.", check=Between(1)
    )
    max_image_pixels: int = _opt(
        200_000_000,
        "Images declaring more pixels are refused as decompression bombs.",
        check=Between(1),
    )
    max_decode_bytes: int = _opt(
        384 * 1024**2,
        "Memory one photo may take to decode at ingest (4 bytes a pixel; a JPEG is decoded at 1/8 "
        "scale, so this bounds PNG, WebP and HEIC): larger ones are refused.",
        check=Between(1024**2),
    )
    zip_max_entries: int = _opt(20_000, "A zip with more entries is refused.", check=Between(1))
    zip_max_total_bytes: int = _opt(
        16 * 1024**3,
        "Bytes one zip may inflate, counting the zips inside it; past them the rest is refused.",
        check=Between(1),
    )
    zip_max_ratio: int = _opt(
        200,
        "A zip entry, or a zip as a whole, expanding more than this many times its compressed "
        "size (over 1 MiB) is refused.",
        check=Between(1),
    )
    zip_max_depth: int = _opt(
        2, "Zips inside zips are opened down to this depth, no deeper.", check=Between(0, 16)
    )
    read_chunk_bytes: int = _opt(
        1024 * 1024,
        "Read size when hashing and storing a file.",
        check=Between(4096, 256 * 1024**2),
    )
    recall: str = _opt(
        "fast",
        "Face detection profile for redaction: fast or thorough (see `temoin redact --recall`).",
        check=_recall,
    )
    language: str = _opt(
        "en",
        "Language of the published site, feed and newsletter: en or fr.",
        check=_language,
    )
    site_title: str = _opt("", "Title of the published site (default: the archive's name).")
    base_url: str = _opt(
        "",
        "Where the site is served (https://…/); feed and newsletter links need it, pages do not.",
        check=_https_link,
    )
    donation_url: str = _opt(
        "",
        "Link to the donation pot (https: or mailto:), shown on the support page and e-mails.",
        check=_donation_link,
    )
    support_email: str = _opt(
        "",
        "Address for messages of support, shown on the support page; the newsletter's sender.",
        check=_address,
    )
    support_text: str = _opt(
        "", "A paragraph for the support page: who you are and what support helps with."
    )
    encrypt: bool = _opt(
        False,
        "Encrypted at rest (set by `temoin init --encrypt`; an archive says so in its temoin.toml, "
        "so one whose key was wiped is known for what it is).",
    )
    kdf_memory_kib: int = _opt(
        128 * 1024,
        "Memory (KiB) Argon2id takes to open a new encrypted archive's key file: more makes a "
        "guessed passphrase dearer to try; an old laptop may want less.",
        check=Between(8 * 1024, 4 * 1024**2),
    )
    unlock_hours: int = _opt(
        8,
        "How long `temoin unlock` (and `init --encrypt`) leaves an encrypted archive open before "
        "it locks itself; 0 means until `temoin lock`.",
        check=Between(0, 24 * 366),
    )
    read_only: bool = _opt(
        False,
        "Open the archive without writing to it; a write-protected card or folder is read-only "
        "by itself.",
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            _checked(f.name, getattr(self, f.name), f.default, f.metadata.get("check"), "settings")

    @classmethod
    def help_table(cls) -> list[tuple[str, Any, str]]:
        return [(f.name, f.default, f.metadata["help"]) for f in fields(cls)]

    def with_overrides(
        self, values: dict[str, Any], origin: str | Callable[[str], str]
    ) -> Settings:
        """These values over this settings'; ``origin`` says where they came from, in errors."""
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            where = origin(name) if callable(origin) else origin
            if name not in known:
                raise UsageError(f"{where}: unknown setting {key!r}")
            spec = known[name]
            clean[name] = _checked(name, value, spec.default, spec.metadata.get("check"), where)
        return replace(self, **clean)


def _checked(name: str, value: Any, default: Any, check: Check | None, where: str) -> Any:
    """``value`` as the setting's type, or a one-line error naming the setting, value and origin."""
    try:
        typed = _as_type(value, type(default))
    except ValueError as exc:
        raise UsageError(f"{where}: setting {name!r} = {value!r}: {exc}") from None
    reason = check(typed) if check is not None else None
    if reason is not None:
        raise UsageError(f"{where}: setting {name!r} = {value!r}: {reason}")
    return typed


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _as_type(value: Any, kind: type) -> Any:
    """TOML gives typed values, the environment and flags give text: both are held to the type."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError("must be true or false")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip(), 10)
            except ValueError:
                pass
        raise ValueError("must be a whole number")
    if kind is str:
        if isinstance(value, str):
            return value
        raise ValueError("must be text (in quotes in temoin.toml)")
    return value


def load_settings(config_file: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    if config_file is not None and config_file.exists():
        try:
            data = tomllib.loads(config_file.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{config_file.name}: {exc}") from exc
        settings = settings.with_overrides(data.get("temoin", data), config_file.name)
    env = {
        f.name: os.environ[_env_name(f.name)]
        for f in fields(settings)
        if _env_name(f.name) in os.environ
    }
    settings = settings.with_overrides(env, lambda name: f"environment {_env_name(name)}")
    return settings.with_overrides(overrides or {}, "arguments")


def _env_name(name: str) -> str:
    return f"TEMOIN_{name.upper()}"
