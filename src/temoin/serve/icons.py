"""The app's PNG icons, drawn here from the same figure as ``static/icon.svg``: an eye on blue.

Chromium offers to install a web app only when its manifest names PNG icons of 192 and 512
pixels; Android crops a ``maskable`` one to its own shape. The PNGs are drawn by this module and
committed under ``static/`` (``python -m temoin.serve.icons`` writes them again): they are then
plain static files, served and cached like the stylesheet, kept by the service worker for the
offline pages, and the server draws nothing when it starts. `tests/serve/test_offline.py`
compares the committed files with what this module draws, so a changed drawing is not forgotten.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

STATIC = Path(__file__).with_name("static")
BLUE = (0x1D, 0x35, 0x57, 255)
WHITE = (255, 255, 255, 255)
SUPERSAMPLE = 4  # drawn larger, then reduced: smooth edges without an anti-aliasing library

# name: (size in pixels, maskable). A maskable icon fills its square and keeps the figure inside
# the central circle of 80 % of its width, the part every launcher shape shows.
ICONS = {
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "icon-maskable-512.png": (512, True),
}


def draw(size: int, maskable: bool = False) -> Image.Image:
    """The icon at ``size`` pixels: on a 512 grid, a ring of radius 120 and width 40 around a
    dot of radius 44, on a square with rounded corners (a full square when ``maskable``)."""
    big = size * SUPERSAMPLE
    unit = big / 512
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        pen.rectangle((0, 0, big, big), fill=BLUE)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(96 * unit), fill=BLUE)
    middle = big / 2
    outer, inner, dot = 140 * unit, 100 * unit, 44 * unit
    pen.ellipse(_around(middle, outer), fill=WHITE)
    pen.ellipse(_around(middle, inner), fill=BLUE)
    pen.ellipse(_around(middle, dot), fill=WHITE)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _around(middle: float, radius: float) -> tuple[float, float, float, float]:
    return (middle - radius, middle - radius, middle + radius, middle + radius)


def write(folder: Path = STATIC) -> list[Path]:
    """Draw every icon into ``folder``; returns the files written."""
    written = []
    for name, (size, maskable) in ICONS.items():
        path = folder / name
        draw(size, maskable).save(path, optimize=True)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.name)
