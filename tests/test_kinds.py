"""The table of kinds is what the stages read: a kind's policy shows in what each stage does."""

from __future__ import annotations

from temoin import kinds
from temoin.kinds import GateRule, Kind


def test_every_stored_kind_has_a_policy_and_an_unknown_one_is_never_published() -> None:
    assert set(kinds.POLICY) == set(Kind)
    unknown = kinds.policy("hologram")
    assert unknown.gate is GateRule.NEVER and not unknown.on_timeline and not unknown.rendered


def test_the_sets_follow_the_table() -> None:
    assert set(kinds.FACES) <= set(kinds.RENDERED)
    assert set(kinds.CHAT_LINES) <= set(kinds.TEXT_GATED) <= set(kinds.QUEUED)
    assert Kind.CHAT not in kinds.ON_TIMELINE and Kind.CHAT not in kinds.QUEUED
    assert kinds.policy("audio").gate is GateRule.VOICES and "audio" in kinds.RENDERED
    assert set(kinds.SOUND) == {Kind.AUDIO, Kind.VIDEO}  # withheld until voices are accounted for
