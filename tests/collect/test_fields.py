"""The fast message digest feeds the bytes ``add_message`` feeds, whatever the fields hold."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from temoin.collect import fields

_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
_META = st.one_of(
    st.builds(lambda n: {"line": n}, st.integers(min_value=0, max_value=10**12)),
    st.dictionaries(
        _TEXT,
        st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False), _TEXT, st.none()),
        max_size=4,
    ),
    st.just({"line": True}),  # a bool is not a line number: written as true, not 1
)


@settings(max_examples=300, deadline=None)
@given(
    shared=st.tuples(_TEXT, _TEXT, _TEXT),
    messages=st.lists(
        st.tuples(st.one_of(_TEXT, st.none()), _TEXT, _META, st.one_of(_TEXT, st.none())),
        max_size=6,
    ),
)
def test_message_digest_equals_add_message(
    shared: tuple[str, str, str], messages: list[tuple[str | None, str, dict[str, Any], Any]]
) -> None:
    name, source, capture_source = shared
    fast = fields.MessageDigest(
        kind="message", name=name, source=source, mime="text/plain", capture_source=capture_source
    )
    lines = []
    plain = []
    for seq, (author, text, meta, captured) in enumerate(messages):
        lines.append(fast.line(author=author, text=text, meta=meta, captured=captured, seq=seq))
        plain.append(
            fields.item_fields(
                kind="message", name=name, source=source, mime="text/plain", author=author,
                text=text, meta=meta, captured=captured, capture_source=capture_source, seq=seq,
            )
        )  # fmt: skip
    fast.update(lines[:2])
    fast.update(lines[2:])
    assert fast.hexdigest() == fields.messages_digest(plain)
