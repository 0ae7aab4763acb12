"""The independent metadata check flags what a phone leaves behind and passes our derivatives."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from PIL import Image
from PIL.ExifTags import IFD
from skimage import data

from temoin.protect.scrub import assert_clean, read_tags


def dirty_jpeg(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "samsung", "SM-G991B"
    exif[0x0132] = "2024:05:01 10:00:00"
    exif.get_ifd(IFD.Exif)[0xA431] = "R58R12345XY"  # BodySerialNumber
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (50.0, 57.0, 36.0), "E", (1.0, 51.0, 0.0)
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="witness"/></rdf:RDF></x:xmpmeta>'
    )
    Image.fromarray(data.astronaut()).save(path, "JPEG", exif=exif, xmp=xmp, comment=b"camp")
    return path


def dirty_mp4(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as out:
        out.metadata.update(
            {"location": "+50.9500+001.8500/", "creation_time": "2024-05-01T10:00:00Z"}
        )
        out.metadata["make"], out.metadata["model"] = "Apple", "iPhone 12"
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        frame.pts = 0
        out.mux(video.encode(frame))
        out.mux(video.encode())
    return path


def test_phone_jpeg_problems_are_all_named(tmp_path: Path) -> None:
    problems = "\n".join(assert_clean(dirty_jpeg(tmp_path / "a.jpg")))
    for needle in ("GPSLatitude", "Make", "Model", "SerialNumber", "ModifyDate", "XMP", "Comment"):
        assert needle in problems


def test_phone_mp4_problems_are_all_named(tmp_path: Path) -> None:
    problems = "\n".join(assert_clean(dirty_mp4(tmp_path / "a.mp4")))
    for needle in ("GPS", "CreateDate", "Encoder"):
        assert needle in problems, problems


def test_bare_jpeg_is_clean(tmp_path: Path) -> None:
    Image.fromarray(data.astronaut()).save(tmp_path / "b.jpg", "JPEG")
    assert assert_clean(tmp_path / "b.jpg") == []
    assert "File:ImageWidth" in read_tags(tmp_path / "b.jpg")


def test_non_srgb_profile_is_flagged(tmp_path: Path) -> None:
    from PIL import ImageCms

    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(data.astronaut()).save(tmp_path / "c.jpg", "JPEG", icc_profile=lab)
    assert any("profile" in p for p in assert_clean(tmp_path / "c.jpg"))
