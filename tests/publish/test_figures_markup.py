"""Counts are highlighted on the text as written: apostrophes, ampersands, angle brackets and
quotes next to them reach the page, the e-mail and the feed intact."""

from __future__ import annotations

import email
import html
import re
from email.policy import default
from pathlib import Path
from types import SimpleNamespace

import pytest
from tests.conftest import run_cli

from temoin.archive import Archive
from temoin.publish.templating import highlight

DIARY = """\
Lundi 24 octobre 2016
8h : l'arrivée de 39 bus & <b>12</b> camions, "40" CRS d'après l'AFP.

Chers amis,
l'évacuation a commencé : 39 bus & 1051 personnes parties. Merci !
Léa
"""


def _figures(*values: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(value=v) for v in values]


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        (
            "l'arrivée de 39 bus",
            (39,),
            'l&#39;arrivée de <strong class="figure">39</strong> bus',
        ),
        (
            "A&B 12 & 39",
            (12, 39),
            'A&amp;B <strong class="figure">12</strong> &amp; <strong class="figure">39</strong>',
        ),
        ("<b>12</b>", (12,), '&lt;b&gt;<strong class="figure">12</strong>&lt;/b&gt;'),
        (
            '"40" 34',
            (40, 34),
            '&#34;<strong class="figure">40</strong>&#34; <strong class="figure">34</strong>',
        ),
        (
            "1051 or 105",
            (105, 1051),
            '<strong class="figure">1051</strong> or <strong class="figure">105</strong>',
        ),
        ("a\nb 3", (3,), 'a<br>\nb <strong class="figure">3</strong>'),
    ],
)
def test_highlight_escapes_the_text_around_each_count(
    text: str, values: tuple[int, ...], expected: str
) -> None:
    assert str(highlight(text, _figures(*values))) == expected


@pytest.fixture
def published(tmp_path: Path) -> tuple[Archive, Path]:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "journal.txt").write_text(DIARY, encoding="utf-8")
    archive = Archive.create(tmp_path / "archive", name="Calais", timezone="Europe/Paris")
    with open(archive.root / "temoin.toml", "a", encoding="utf-8") as handle:
        handle.write('support_email = "contact@support.example.org"\n')
    archive.close()
    archive = Archive.open(tmp_path / "archive")
    archive.ingest([tmp_path / "notes"], source="Léa")
    [diary] = archive.list_items()
    archive.approve(diary["id"])
    archive.new_story("Calais", "2016-10-24T00:00", "2016-10-24T23:59")
    yield archive, tmp_path
    archive.close()


def test_site_newsletter_and_feed_keep_the_text_around_counts(
    published: tuple[Archive, Path],
) -> None:
    archive, tmp_path = published
    site = tmp_path / "site"
    result = run_cli("-A", str(archive.root), "publish", "site", str(site))
    assert result.code == 0, result.err
    [page] = (site / "stories").glob("*/index.html")
    story = page.read_text("utf-8")
    assert 'l&#39;arrivée de <strong class="figure">39</strong> bus &amp; &lt;b&gt;12' in story
    for broken in ("&#<strong", "&amp;#", "&amp;amp;", "<b>12"):
        assert broken not in story
    assert "l&#39;arrivée" in story and "&#34;" in story
    # what a reader sees is the diary, word for word
    visible = html.unescape(re.sub(r"<[^>]+>", "", story))
    assert "l'arrivée de 39 bus & <b>12</b> camions" in visible

    recipients = tmp_path / "to.csv"
    recipients.write_text("name,email\nMarie,marie@example.org\n", "utf-8")
    mail = tmp_path / "mail"
    slug = page.parent.name
    sent = run_cli(
        "-A", str(archive.root), "publish", "newsletter", "--story", slug,
        "--to", str(recipients), "--eml", str(mail),
    )  # fmt: skip
    assert sent.code == 0, sent.err
    [eml] = mail.glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=default)
    body = message.get_body(("html",)).get_content()
    assert "&#<strong" not in body and "&amp;#" not in body
    assert "l&#39;évacuation a commencé : 39 bus &amp; 1051 personnes" in body
    text = message.get_body(("plain",)).get_content()
    assert "l'évacuation a commencé : 39 bus & 1051 personnes" in text

    feed = (site / "feed.xml").read_text("utf-8")
    assert "&amp;#" not in feed and "<strong" not in feed
