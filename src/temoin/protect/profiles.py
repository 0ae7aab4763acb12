"""Recall profiles: which detection passes run, named so that a record can say what looked.

A profile is data only (this module imports nothing heavy), so settings can check a name without
loading the face model. The passes themselves are in `temoin.protect.passes`. Profiles are ranked:
``temoin redact`` renders again an item made with a lower profile than the one asked for, and
never lowers one.
"""

from __future__ import annotations

from dataclasses import dataclass

PassName = str
PASS_NAMES = ("plain", "mirror", "half", "edge", "double")


@dataclass(frozen=True)
class Profile:
    """What one detection step runs.

    On video, detection frames take turns through ``video_cycle`` (each entry a set of passes),
    so a pass that is too dear for every detection frame still looks every few frames; tracks
    carry each face across the frames between. ``every`` is the default spacing of detection
    frames; ``hd_short_side`` is the detector input's short side for frames of 1080 lines or more
    (more pixels for small faces), where the usual input is 360 lines.
    """

    name: str
    photo: tuple[PassName, ...]
    video_cycle: tuple[tuple[PassName, ...], ...]
    every: int
    hd_short_side: int
    summary: str

    def video_passes(self, detection_number: int) -> tuple[PassName, ...]:
        return self.video_cycle[detection_number % len(self.video_cycle)]

    def as_record(self) -> dict[str, object]:
        """The profile as written into signed records: enough to know what looked at the pixels."""
        return {
            "name": self.name,
            "photo": list(self.photo),
            "video_cycle": [list(p) for p in self.video_cycle],
            "every": self.every,
            "hd_short_side": self.hd_short_side,
        }


PROFILES: dict[str, Profile] = {
    "fast": Profile(
        name="fast",
        photo=("plain", "mirror", "half", "edge", "double"),
        video_cycle=(("plain", "half"), ("mirror", "half")),
        every=3,
        hd_short_side=540,
        summary="video: plain and mirrored frames in turn, half size every time, every 3rd frame",
    ),
    "thorough": Profile(
        name="thorough",
        photo=("plain", "mirror", "half", "edge", "double"),
        video_cycle=(("plain", "mirror", "half"),),
        every=2,
        hd_short_side=720,
        summary="video: plain, mirrored and half-size passes on every 2nd frame",
    ),
}
DEFAULT_PROFILE = "fast"


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown recall profile {name!r} (known: {known})") from None


def rank(name: str | None) -> int:
    """Order of the profiles by recall; unknown or missing names (older records) rank lowest."""
    return list(PROFILES).index(name) if name in PROFILES else -1
