"""Near-duplicates: re-sent copies and bursts grouped, the camera original in front, nothing deleted."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageFilter

from temoin.archive import Archive
from temoin.sort.dupes import near_pairs, popcount64
from temoin.testing.media import make_video
from temoin.testing.photos import astronaut, make_photo


def _whatsapp_copy(original: Path, target: Path) -> Path:
    """Resized to 1/2, recompressed at quality 50, metadata gone: what a chat app sends on."""
    with Image.open(original) as image:
        small = image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        small.save(buffer, "JPEG", quality=50)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())
    return target


def test_whatsapp_copy_is_grouped_with_the_camera_original(
    tmp_path: Path, archive: Archive
) -> None:
    original = make_photo(
        tmp_path / "jules/IMG_20161024_070412.jpg",
        image=astronaut(),
        taken=datetime(2016, 10, 24, 7, 4, 12),
        make="Fairphone",
        model="FP2",
        quality=92,
    )
    _whatsapp_copy(original, tmp_path / "amina/IMG-20161024-WA0003.jpg")
    make_photo(tmp_path / "amina/other.jpg", seed=5)  # an unrelated picture
    archive.ingest([tmp_path / "jules"], source="Jules's phone")
    archive.ingest([tmp_path / "amina"], source="Amina's phone")
    result = archive.dupes()
    assert result["hashed"] == 3 and not result["failed"]
    [group] = result["groups"]
    names = {item["name"]: item for item in group["items"]}
    assert set(names) == {"IMG_20161024_070412.jpg", "IMG-20161024-WA0003.jpg"}
    assert names["IMG_20161024_070412.jpg"]["representative"] is True
    assert names["IMG-20161024-WA0003.jpg"]["representative"] is False
    assert names["IMG-20161024-WA0003.jpg"]["distance"] <= 4
    assert len(archive.list_items()) == 3  # nothing deleted
    again = archive.dupes()
    assert again["hashed"] == 0 and again["groups"] == result["groups"]  # hashes are cached


def test_burst_shots_group_and_different_scenes_do_not(tmp_path: Path, archive: Archive) -> None:
    base = astronaut()
    for n in range(3):  # a burst: the same scene, slightly softened frame to frame
        shot = base.filter(ImageFilter.GaussianBlur(n * 0.6))
        make_photo(tmp_path / f"burst/B{n}.jpg", image=shot, make="Fairphone")
    make_photo(tmp_path / "burst/other.jpg", seed=3)
    make_photo(tmp_path / "burst/flipped.jpg", image=base.transpose(Image.Transpose.ROTATE_180))
    archive.ingest([tmp_path / "burst"], source="phone")
    [group] = archive.dupes()["groups"]
    assert sorted(i["name"] for i in group["items"]) == ["B0.jpg", "B1.jpg", "B2.jpg"]


def _reencode(source: Path, target: Path, size: tuple[int, int]) -> Path:
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "35"}
        for frame in inp.decode(video=0):
            picture = frame.to_image().resize(size)
            out.mux(stream.encode(av.VideoFrame.from_image(picture)))
        out.mux(stream.encode(None))
    return target


def test_a_reencoded_video_is_grouped_by_sampled_frames(tmp_path: Path, archive: Archive) -> None:
    # real imagery: on the synthetic wrap-around pattern, pHash distances after a crf 35
    # re-encode sit at the threshold and depend on the CPU's scaler code paths
    scene = np.asarray(astronaut())
    clip = make_video(
        tmp_path / "cam/VID_1.mp4", seconds=1.2, size=(320, 192), audio=False, scene=scene
    )
    (tmp_path / "chat").mkdir()
    _reencode(clip, tmp_path / "chat/VID-20161024-WA0004.mp4", (160, 96))
    make_video(tmp_path / "cam/VID_2.mp4", seconds=1.2, size=(192, 320), audio=False)
    archive.ingest([tmp_path / "cam"], source="Jonas")
    archive.ingest([tmp_path / "chat"], source="Amina")
    groups = archive.dupes()["groups"]
    assert len(groups) == 1
    kept = [i["name"] for i in groups[0]["items"] if i["representative"]]
    assert sorted(i["name"] for i in groups[0]["items"]) == ["VID-20161024-WA0004.mp4", "VID_1.mp4"]
    assert kept == ["VID_1.mp4"]


def test_indexed_pairs_equal_brute_force() -> None:
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 2**63, size=3000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    # plant near copies: flip up to 7 random bits
    planted = hashes[:300].copy()
    for k in range(len(planted)):
        for bit in rng.choice(64, size=int(rng.integers(0, 8)), replace=False):
            planted[k] ^= np.uint64(1) << np.uint64(int(bit))
    values = np.concatenate([hashes, planted])
    i, j, d = near_pairs(values, 7)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    brute = set()
    for a in range(len(values)):
        dist = popcount64(values[a] ^ values[a + 1 :])
        for off in np.nonzero(dist <= 7)[0]:
            brute.add((a, a + 1 + int(off)))
    assert found == brute
    assert len(found) >= 300
    assert (d <= 7).all()


@pytest.mark.parametrize("radius", [3, 11])
def test_wider_radius_also_matches_brute_force(radius: int) -> None:
    rng = np.random.default_rng(radius)
    base = rng.integers(0, 2**63, size=200, dtype=np.int64).astype(np.uint64)
    # `radius` bits flipped, spread over all four 16-bit chunks: an exact lookup of any one
    # chunk cannot find these, only the flipped-mask probes can
    bits = [16 * chunk + bit for bit in range(4) for chunk in range(4)][:radius]
    near = base ^ np.uint64(sum(1 << b for b in bits))
    values = np.concatenate([base, near])
    i, j, _ = near_pairs(values, radius)
    assert {(a, b) for a, b in zip(i.tolist(), j.tolist(), strict=True)} == {
        (k, k + 200) for k in range(200)
    }
