"""Documentation that cannot drift: every command, setting and custody action is written down."""

from __future__ import annotations

from pathlib import Path

from temoin.cli.main import cli
from temoin.events import Action
from temoin.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_two_setup_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert [line.split()[0:2] for line in block] == [["make", "demo"], ["make", "test"]]


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in cli.commands:
        assert f"temoin {name}" in readme, f"`temoin {name}` is not documented in README.md"


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, _, _ in Settings.help_table():
        assert f"`{name}`" in readme, f"setting {name} is not documented in README.md"


def test_every_exit_status_is_in_the_readme() -> None:
    import inspect

    from temoin import errors

    readme = (ROOT / "README.md").read_text()
    codes = {
        cls.exit_code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.TemoinError)
    }
    for code in sorted(codes):
        assert f"| {code} |" in readme, f"exit status {code} is not in the README's table"


def test_every_custody_action_is_documented() -> None:
    doc = (ROOT / "docs/internals/custody.md").read_text()
    for action in Action:
        assert f"`{action.value}`" in doc, f"custody action {action.value} is not documented"
