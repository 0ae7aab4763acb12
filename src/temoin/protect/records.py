"""What the protect stage hands back to the CLI and the web app, as typed records.

They are ``TypedDict``s rather than classes because the same mapping is printed by ``--json``,
read by templates and compared in tests: a renamed key then breaks the type check, not a page
at run time. (Annotations are evaluated here, not postponed, so that ``NotRequired`` shows in
``__optional_keys__`` at run time too.)
"""

from typing import Any, NotRequired, TypedDict


class PersonRecord(TypedDict):
    """One entry of the consent register, as `temoin people` lists it."""

    id: int
    name: str
    description: str | None
    consent: str
    scope: list[str]
    when: str | None
    how: str
    recorded_by: str
    recorded_at: str


class ConsentResult(TypedDict):
    """A consent change, and the items rendered again because a face's fate changed with it."""

    person: str
    consent: str
    scope: list[str]
    rerendered: list[str]


class DerivativeShown(TypedDict):
    """The rendering a reviewer is looking at: its hash is what an approval names."""

    sha256: str
    path: str
    current: bool
    made_at: str | None


class FaceLinkRecord(TypedDict):
    box: list[float]
    track: int | None
    applies: bool  # a track link belongs to one analysis: False once the video was analysed anew
    person: str
    consent: str
    face_visible: bool


class VoiceLinkRecord(TypedDict):
    person: str
    consent: str
    voice: bool


class Voices(TypedDict):
    checked: bool
    sound: bool
    linked: list[VoiceLinkRecord]


# "from" is a keyword, hence the functional form.
AddedBox = TypedDict(
    "AddedBox",
    {"n": int, "box": list[float], "from": float | None, "to": float | None, "by": str},
)


class DismissedRecord(TypedDict):
    box: list[float]
    track: int | None
    by: str


class ReviewRecord(TypedDict):
    """One item as a reviewer decides on it: what it is, what was decided, what the gate says."""

    id: str
    kind: str
    name: str
    source: str
    status: str
    reason: str | None
    text: str | None
    derivative: DerivativeShown | None
    damaged: str | None
    damage_acknowledged: bool
    detections: NotRequired[Any]  # as the signed record holds them; only once rendered
    links: list[FaceLinkRecord]
    voices: Voices
    boxes: list[AddedBox]
    dismissed: list[DismissedRecord]
    decisions: list[dict[str, Any]]  # the custody events' details, as logged
    gate: list[str]
