"""Every option, once: its name, default and help.

Precedence: defaults < the archive's ``temoin.toml`` < ``TEMOIN_<NAME>`` environment variables <
explicit arguments (CLI flags). Settings are passed explicitly; there is no module-level config.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from temoin.errors import UsageError
from temoin.timeutil import check_zone


def _opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    name: str = _opt("", "The archive's name, shown on reports and the published site.")
    timezone: str = _opt("UTC", "IANA time zone for naive local times (e.g. Europe/Paris).")
    actor: str = _opt("", "Who is acting, recorded in every custody event (default: the OS user).")
    database_url: str = _opt(
        "", "SQLAlchemy URL of the catalog; empty means SQLite inside the archive folder."
    )
    max_file_bytes: int = _opt(8 * 1024**3, "Files larger than this are rejected at ingest.")
    max_image_pixels: int = _opt(
        200_000_000, "Images declaring more pixels are refused as decompression bombs."
    )
    zip_max_entries: int = _opt(20_000, "A zip with more entries is refused.")
    zip_max_total_bytes: int = _opt(
        16 * 1024**3, "A zip whose entries declare more uncompressed bytes is refused."
    )
    zip_max_ratio: int = _opt(
        200, "A zip entry expanding more than this many times its compressed size is refused."
    )
    zip_max_depth: int = _opt(2, "Zips inside zips are opened down to this depth, no deeper.")
    read_chunk_bytes: int = _opt(1024 * 1024, "Read size when hashing and storing a file.")
    recall: str = _opt(
        "fast",
        "Face detection profile for redaction: fast or thorough (see `temoin redact --recall`).",
    )
    site_title: str = _opt("", "Title of the published site (default: the archive's name).")
    base_url: str = _opt(
        "",
        "Where the site is served (https://…/); feed and newsletter links need it, pages do not.",
    )
    donation_url: str = _opt("", "Link to the donation pot, shown on the support page and e-mails.")
    support_email: str = _opt(
        "", "Address for messages of support, shown on the support page; the newsletter's sender."
    )
    support_text: str = _opt(
        "", "A paragraph for the support page: who you are and what support helps with."
    )

    @classmethod
    def help_table(cls) -> list[tuple[str, Any, str]]:
        return [(f.name, f.default, f.metadata["help"]) for f in fields(cls)]

    def with_overrides(self, values: dict[str, Any], origin: str) -> Settings:
        known = {f.name: f for f in fields(self)}
        clean: dict[str, Any] = {}
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in known:
                raise UsageError(f"{origin}: unknown setting {key!r}")
            default = known[name].default
            try:
                clean[name] = (
                    type(default)(value) if not isinstance(value, type(default)) else value
                )
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{origin}: setting {key!r}: {exc}") from exc
        return replace(self, **clean)


def load_settings(config_file: Path | None, overrides: dict[str, Any] | None = None) -> Settings:
    settings = Settings()
    if config_file is not None and config_file.exists():
        try:
            data = tomllib.loads(config_file.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{config_file.name}: {exc}") from exc
        settings = settings.with_overrides(data.get("temoin", data), config_file.name)
    env = {
        f.name: os.environ[f"TEMOIN_{f.name.upper()}"]
        for f in fields(settings)
        if f"TEMOIN_{f.name.upper()}" in os.environ
    }
    settings = settings.with_overrides(env, "environment")
    settings = settings.with_overrides(overrides or {}, "arguments")
    check_zone(settings.timezone)  # refuse a bad zone at open, not in the middle of an ingest
    _check_recall(settings.recall)
    _check_links(settings)
    return settings


def _check_recall(name: str) -> None:
    from temoin.protect.profiles import profile

    try:
        profile(name)
    except ValueError as exc:
        raise UsageError(f"setting 'recall': {exc}") from exc


# Settings written into pages as links, and the schemes each may use (see temoin/links.py).
LINKS: dict[str, tuple[str, ...]] = {"base_url": ("https",), "donation_url": ("https", "mailto")}
ADDRESSES = ("support_email",)  # written into mailto: links


def _check_links(settings: Settings) -> None:
    from temoin.links import address_refusal, link_refusal

    for name, schemes in LINKS.items():
        value = getattr(settings, name)
        if value and (why := link_refusal(value, schemes)):
            raise UsageError(f"setting {name!r}: {why}")
    for name in ADDRESSES:
        value = getattr(settings, name)
        if value and (why := address_refusal(value)):
            raise UsageError(f"setting {name!r}: {why}")
