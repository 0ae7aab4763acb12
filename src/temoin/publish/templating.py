"""The templates' environment and the few filters pages and e-mails share.

Dates are spelled out with Babel in the archive's ``language`` rather than with ``strftime("%B")``,
so a page reads the same whatever the locale of the machine that built it.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from temoin import i18n


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("temoin.publish", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    i18n.install(env)
    env.filters["highlight"] = highlight
    env.filters["srcset"] = srcset
    env.filters["duration"] = lambda s: f"{int(s) // 60}:{int(s) % 60:02d}"
    return env


def highlight(text: str, figures: list[Any]) -> Markup:
    """The entry's text, escaped, with each stated count in bold and its line breaks kept.

    Counts are found in the text as written and each piece is escaped on its own: searching the
    escaped HTML instead would find the 39 of ``&#39;`` (an apostrophe) and break the entity.
    """
    values = sorted({str(f.value) for f in figures}, key=len, reverse=True)
    pieces: list[Markup] = []
    if values:
        counts = re.compile(rf"(?<!\d)(?:{'|'.join(map(re.escape, values))})(?!\d)")
        done = 0
        for found in counts.finditer(text):
            pieces.append(escape(text[done : found.start()]))
            pieces.append(Markup('<strong class="figure">{}</strong>').format(found.group()))
            done = found.end()
        text = text[done:]
    pieces.append(escape(text))
    return Markup("").join(pieces).replace("\n", Markup("<br>\n"))


def srcset(picture: Any, root: str) -> str:
    return ", ".join(f"{root}{rel} {width}w" for rel, width in picture.srcset)


def long_day(moment: datetime | None, language: str = i18n.DEFAULT) -> str:
    return i18n.long_day(moment, language)


def clock(moment: datetime | None) -> str:
    return f"{moment:%H:%M}" if moment is not None else ""


def static(name: str) -> bytes:
    return resources.files("temoin.publish").joinpath("templates", name).read_bytes()
