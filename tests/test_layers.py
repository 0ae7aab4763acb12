"""The stages sit below the `Archive` façade: none of them may import it back.

A stage that reaches up to the façade needs something the `ArchiveContext` does not give it; the
fix is to give the context that, not to import the façade (not even for type checking).
"""

from __future__ import annotations

import ast
from pathlib import Path

import temoin

STAGES = ("collect", "keep", "sort", "protect", "publish")
FACADE = "temoin.archive"


def imports_of(source: str) -> set[str]:
    """Every module a source file imports, wherever the import stands (a function, a
    TYPE_CHECKING block), with `from temoin import archive` read as `temoin.archive`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def reaching_up() -> set[str]:
    package = Path(temoin.__file__).parent
    offenders = set()
    for stage in STAGES:
        for path in sorted((package / stage).rglob("*.py")):
            if FACADE in imports_of(path.read_text("utf-8")):
                offenders.add(path.relative_to(package).as_posix())
    return offenders


def test_no_stage_imports_the_facade() -> None:
    assert reaching_up() == set()


def test_every_form_of_the_import_is_seen() -> None:
    forms = [
        "from temoin.archive import Archive",
        "import temoin.archive",
        "from temoin import archive",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from temoin.archive import Archive",
        "def verb():\n    from temoin.archive import Archive",
    ]
    for form in forms:
        assert FACADE in imports_of(form), form
    assert FACADE not in imports_of("from temoin.context import ArchiveContext")
