"""Settings are held to their type and range where they come in: temoin.toml, TEMOIN_*, flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.errors import UsageError
from temoin.settings import Settings, load_settings
from temoin.testing.photos import make_photo


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Archive.create(tmp_path / "archive").close()
    make_photo(tmp_path / "dump" / "IMG_1.jpg")
    return tmp_path / "archive"


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("read_chunk_bytes = 0", ["'read_chunk_bytes' = 0", "from 4,096 to"]),
        ("max_file_bytes = -5", ["'max_file_bytes' = -5", "at least 1"]),
        ("zip_max_depth = 99", ["'zip_max_depth' = 99", "from 0 to 16"]),
        ('zip_max_entries = "many"', ["'zip_max_entries' = 'many'", "whole number"]),
        ("max_image_pixels = true", ["'max_image_pixels' = True", "whole number"]),
        ("name = 2016", ["'name' = 2016", "must be text"]),
        ('timezone = "Mars/Olympus"', ["'timezone' = 'Mars/Olympus'", "IANA"]),
        ('read_only = "perhaps"', ["'read_only' = 'perhaps'", "true or false"]),
        ('database_url = "not a url"', ["'database_url' = 'not a url'", "SQLAlchemy URL"]),
    ],
)
def test_a_bad_value_in_temoin_toml_is_refused_at_open_in_one_line(
    root: Path, line: str, words: list[str]
) -> None:
    config = root / "temoin.toml"
    key = line.split(" = ")[0]
    kept = [k for k in config.read_text("utf-8").splitlines() if not k.startswith(f"{key} =")]
    config.write_text("\n".join([*kept, line]) + "\n", encoding="utf-8")
    before = (root / "catalog.sqlite").read_bytes()
    result = run_cli("-A", str(root), "ingest", str(root.parent / "dump"))
    assert result.code == 2
    [message] = result.err.strip().splitlines()
    assert message.startswith("error: temoin.toml: setting ")
    for word in words:
        assert word in message
    assert (root / "catalog.sqlite").read_bytes() == before  # nothing ingested, nothing logged


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("TEMOIN_READ_CHUNK_BYTES", "0", ["'read_chunk_bytes' = '0'", "from 4,096 to"]),
        ("TEMOIN_ZIP_MAX_RATIO", "ten", ["'zip_max_ratio' = 'ten'", "whole number"]),
        ("TEMOIN_RECALL", "sloppy", ["'recall' = 'sloppy'", "unknown recall profile"]),
        ("TEMOIN_READ_ONLY", "2", ["'read_only' = '2'", "true or false"]),
    ],
)
def test_a_bad_value_from_the_environment_names_the_variable(
    root: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: list[str]
) -> None:
    monkeypatch.setenv(name, value)
    result = run_cli("-A", str(root), "status")
    assert result.code == 2
    [message] = result.err.strip().splitlines()
    assert message.startswith(f"error: environment {name}: setting ")
    for word in words:
        assert word in message


def test_good_values_from_text_are_typed(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMOIN_READ_CHUNK_BYTES", " 65536 ")
    monkeypatch.setenv("TEMOIN_READ_ONLY", "no")
    settings = load_settings(root / "temoin.toml")
    assert settings.read_chunk_bytes == 65536 and settings.read_only is False
    with pytest.raises(UsageError, match="'zip_max_depth' = 17"):
        load_settings(root / "temoin.toml", {"zip_max_depth": 17})


def test_every_default_passes_its_own_check() -> None:
    Settings()  # checks run on construction too; a bad default would fail here
