"""Publishing from an encrypted archive: the site, feed, letters and bags are clear only where the
person pointed; the archive folder keeps nothing of them in clear."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyrage import x25519
from tests.conftest import ON_ENCRYPTED, run_cli
from tests.publish.conftest import SLUG

from temoin.archive import Archive

pytestmark = pytest.mark.skipif(not ON_ENCRYPTED, reason="about an encrypted archive")
AGE = b"age-encryption.org/v1\n"
CAPTION = b"Buses lined up on the rue des Garennes"


def test_what_leaves_is_clear_where_pointed_and_nothing_of_it_in_the_archive(
    day_archive: Archive, tmp_path: Path
) -> None:
    root = day_archive.root
    day_archive.close()
    people = tmp_path / "people.csv"
    people.write_text("name,email\nMarie Dupont,marie@example.org\n", "utf-8")
    key = str(x25519.Identity.generate().to_public())
    runs = [
        ("publish", "site", str(tmp_path / "site")),
        ("publish", "feed", str(tmp_path / "feed")),
        ("publish", "newsletter", "--story", SLUG, "--to", str(people), "--eml", str(tmp_path / "mail")),
        ("export", "bag", str(tmp_path / "bag"), "--story", SLUG),
        ("export", "bag", str(tmp_path / "sealed"), "--story", SLUG, "--originals", "--to", key),
    ]  # fmt: skip
    for args in runs:
        result = run_cli("-A", str(root), *args)
        assert result.code == 0, (args, result.err)
    assert CAPTION in (tmp_path / "site" / "index.html").read_bytes() or any(
        CAPTION in p.read_bytes() for p in (tmp_path / "site").rglob("*.html")
    )
    assert (tmp_path / "bag" / "bagit.txt").is_file()
    assert (tmp_path / "sealed.tar.age").read_bytes().startswith(AGE)

    kept = [p for p in (root / "published").iterdir()]
    assert kept and all(p.read_bytes().startswith(AGE) for p in kept)
    for path in (p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for canary in (CAPTION, b"IMG_1431", b"BagIt-Version", b"<!DOCTYPE html", b'"files"'):
            assert canary not in data, (path.relative_to(root), canary)
