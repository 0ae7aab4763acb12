"""How commands speak: results on stdout (JSON when asked), progress and errors on stderr.

Whatever comes from the material (file names, captions, chat text, reasons quoting them) goes
through `shown` before it is printed: a name can hold terminal escapes that retitle the window,
hide lines or fake a prompt, newlines that forge output lines, and rich markup that would restyle
or swallow text.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")

# Piped output keeps whole lines (for grep) instead of wrapping at 80 columns.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False, soft_wrap=True)


# C0 and C1 controls, DEL, and the marks that reorder text (a name can read backwards).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# In JSON, C0 controls are always escaped; these others are legal raw and still act on a terminal.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


_SPELLED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _spelled(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SPELLED:
        return _SPELLED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(value: object) -> str:
    """``value`` as text safe to print: controls spelled out (``\\x1b``, ``\\n``), markup literal."""
    return escape(_UNSAFE.sub(_spelled, str(value)))


def dumps_json(value: Any, **options: Any) -> str:
    """JSON for scripts that stays inert when it lands on a terminal (same data once parsed)."""
    text = json.dumps(value, ensure_ascii=False, default=str, **options)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit_json(value: Any) -> None:
    sys.stdout.write(dumps_json(value, indent=2) + "\n")


@contextmanager
def byte_progress(label: str, total: int, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr; yields a function to call with the bytes just handled."""
    progress = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not enabled or not err.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=total or None)
        yield lambda n: progress.advance(task, n)


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"
