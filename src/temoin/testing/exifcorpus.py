"""Photos tagged by exiftool itself, the way cameras, phones, scanners and editors leave them.

Each shot is a picture written by Pillow (or tifffile for a DNG), then tagged with exiftool's own
assignments (``-AllDates=``, ``-XMP-exif:DateTimeOriginal=``, GPS, orientation, byte order), then,
for some, damaged the way transfers and old firmware damage files: cut in the scan, cut before the
frame header, a zeroed frame header, garbage Huffman tables, an EXIF block under the
``Exif\\0\\xff`` header some older cameras wrote, a zeroed capture time. The test and the bench
compare what temoin reads from them with what ``exiftool -j -n`` reads.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from temoin.testing.photos import make_exif, pattern

T = "2016:10:24 07:00:00"
_GPS_CALAIS = (
    "-GPSLatitude=50.958132",
    "-GPSLatitudeRef=N",
    "-GPSLongitude=1.851165",
    "-GPSLongitudeRef=E",
    "-GPSAltitude=12.5",
    "-GPSAltitudeRef=0",
)


@dataclass(frozen=True)
class Shot:
    name: str
    tags: tuple[str, ...] = ()  # exiftool assignments
    damage: str | None = None  # see ``_damage``
    heic: dict[str, object] = field(default_factory=dict)  # make_exif fields, for a HEIC


SHOTS: tuple[Shot, ...] = (
    Shot(
        "PXL_20161024_070000.jpg",
        ("-Make=Google", "-Model=Pixel 3", f"-AllDates={T}", "-OffsetTimeOriginal=+02:00",
         "-OffsetTime=+02:00", "-SubSecTimeOriginal=250", "-Orientation#=6", *_GPS_CALAIS,
         "-GPSDateStamp=2016:10:24", "-GPSTimeStamp=05:00:01"),
    ),
    Shot(
        "DSC_0001.JPG",
        ("-ExifByteOrder=MM", "-Make=NIKON CORPORATION", "-Model=NIKON D7000",
         "-AllDates=2016:10:24 07:01:00", "-SubSecTimeOriginal=050", "-Orientation#=3"),
    ),
    Shot(
        "IMG_0002.JPG",
        ("-ExifByteOrder=II", "-Make=Canon", "-Model=Canon PowerShot A80",
         "-AllDates=2016:10:24 07:02:00", "-Orientation#=8"),
    ),
    Shot(
        "20161024_070300.jpg",
        ("-Make=SAMSUNG", "-Model=SM-G930F", "-AllDates=2016:10:24 07:03:00",
         "-OffsetTimeOriginal=-05:00", "-GPSLatitude=33.45", "-GPSLatitudeRef=S",
         "-GPSLongitude=70.66", "-GPSLongitudeRef=W", "-GPSAltitude=520", "-GPSAltitudeRef=1"),
    ),
    Shot(
        "IMG_20161024_070400.jpg",
        ("-Make=HUAWEI", "-Model=VTR-L09", "-DateTimeOriginal=2016:10:24 07:04:00",
         "-Orientation#=2"),
    ),
    Shot(
        "DSC00005.JPG",
        ("-Make=SONY", "-Model=ILCE-6000", "-EXIF:CreateDate=2016:10:24 07:05:00",
         "-Orientation#=4"),
    ),
    Shot(
        "DSCF0006.JPG",
        ("-Make=FUJIFILM", "-Model=X-T2", "-AllDates=2016:10:24 07:06:00",
         "-ModifyDate=2017:01:15 18:30:00", "-Software=Digital Camera X-T2 Ver4.00",
         "-Orientation#=5"),
    ),
    Shot(
        "P1000007.JPG",  # a camera without a set clock: zeros for the original time
        ("-Make=OLYMPUS IMAGING CORP.", "-Model=E-M10", "-DateTimeOriginal=1111:11:11 11:11:11",
         "-EXIF:CreateDate=2016:10:24 07:07:00", "-Orientation#=7"),
        damage="zero-original",
    ),
    Shot(
        "IMG_0008.JPG",
        ("-Make=Apple", "-Model=iPhone 6", "-AllDates=2016:10:24 07:08:00",
         "-OffsetTimeOriginal=+01:00", "-SubSecTimeOriginal=7", "-Orientation#=6", *_GPS_CALAIS,
         "-GPSDateStamp=2016:10:24", "-GPSTimeStamp=06:07:58.5"),
    ),
    Shot(
        "edited-in-photoshop.jpg",  # the EXIF original gone in an export; XMP kept it
        ("-XMP-exif:DateTimeOriginal=2016:10:24 07:10:00.5+02:00",
         "-ModifyDate=2017:03:01 10:00:00", "-Software=Adobe Photoshop CC 2017 (Windows)"),
    ),
    Shot(
        "exported.jpg",
        ("-XMP-xmp:CreateDate=2016:10:24 07:11:00", "-XMP-xmp:ModifyDate=2017:03:01 10:00:00",
         "-ModifyDate=2017:03:01 10:00:00"),
    ),
    Shot("scanned-print.jpg", ("-XMP-photoshop:DateCreated=2016:10:24 07:12:00+02:00",)),
    Shot("scanned-day.jpg", ("-XMP-photoshop:DateCreated=2016:10:24",)),
    Shot(
        "gps-logger.jpg",
        ("-Make=Garmin", *_GPS_CALAIS, "-GPSDateStamp=2016:10:24", "-GPSTimeStamp=05:13:30"),
    ),
    Shot("modified-only.jpg", ("-ModifyDate=2016:10:24 07:14:00", "-OffsetTime=+02:00")),
    Shot("bare.jpg"),
    Shot(
        "kodak-header.jpg",  # the EXIF block under "Exif\0\xff": exiftool reads it, Pillow not
        ("-Make=EASTMAN KODAK COMPANY", "-Model=KODAK EASYSHARE C340",
         "-AllDates=2016:10:24 07:15:00", "-Orientation#=6", *_GPS_CALAIS),
        damage="maker-header",
    ),
    Shot(
        "exif-after-frame.jpg",  # the EXIF segment after the tables and frame header
        ("-Make=Motorola", "-AllDates=2016:10:24 07:16:00", "-Orientation#=8"),
        damage="exif-late",
    ),
    Shot(
        "with-thumbnail.jpg",  # IFD1 with a thumbnail after IFD0
        ("-Make=Canon", "-AllDates=2016:10:24 07:17:00", "-Orientation#=3"),
        damage="thumbnail",
    ),
    Shot(
        "cut-in-scan.jpg",
        ("-Make=Xiaomi", "-AllDates=2016:10:24 07:18:00", "-OffsetTimeOriginal=+02:00",
         "-Orientation#=6", *_GPS_CALAIS),
        damage="cut-scan",
    ),
    Shot(
        "cut-before-frame.jpg",
        ("-Make=Xiaomi", "-AllDates=2016:10:24 07:19:00", "-OffsetTimeOriginal=+02:00",
         "-Orientation#=8", *_GPS_CALAIS),
        damage="cut-frame",
    ),
    Shot(
        "bad-frame-header.jpg",
        ("-Make=LG Electronics", "-AllDates=2016:10:24 07:20:00", "-Orientation#=3",
         *_GPS_CALAIS),
        damage="zero-frame",
    ),
    Shot(
        "bad-huffman.jpg",
        ("-Make=OnePlus", "-AllDates=2016:10:24 07:21:00", "-Orientation#=6"),
        damage="huffman",
    ),
    Shot(
        "IMG_0022.HEIC",
        heic={"taken": datetime(2016, 10, 24, 7, 22), "offset": "+02:00", "make": "Apple",
              "model": "iPhone 12", "orientation": 6, "gps": (50.958132, 1.851165),
              "gps_time": datetime(2016, 10, 24, 5, 22)},
    ),
    Shot(
        "IMG_0023.HEIC",
        heic={"taken": datetime(2016, 10, 24, 7, 23), "make": "Apple", "model": "iPhone XR",
              "orientation": 8},
    ),
    Shot(
        "IMG_0024.HEIC",  # cut in transfer: the metadata item was at the end, and is gone
        heic={"taken": datetime(2016, 10, 24, 7, 24), "make": "Apple", "orientation": 6},
        damage="cut-heic",
    ),
    Shot(
        "scan.tif",
        ("-Make=EPSON", "-AllDates=2016:10:24 07:25:00", "-Orientation#=6", *_GPS_CALAIS),
    ),
    Shot("scan-big-endian.tif", ("-Make=Nikon", "-AllDates=2016:10:24 07:26:00", "-Orientation#=8")),
    Shot("scan-xmp.tif", ("-XMP-exif:DateTimeOriginal=2016:10:24 07:27:00+02:00",)),
    Shot(
        "screenshot.png",
        ("-AllDates=2016:10:24 07:28:00", "-Orientation#=1", "-OffsetTimeOriginal=+02:00"),
    ),
    Shot("shared.webp", ("-AllDates=2016:10:24 07:29:00", "-Orientation#=6", *_GPS_CALAIS)),
    Shot(
        "IMG_0030.dng",
        ("-Make=Temoin", "-AllDates=2016:10:24 07:30:00", "-OffsetTimeOriginal=+02:00",
         "-Orientation#=6", *_GPS_CALAIS),
    ),
)  # fmt: skip


def make_exif_corpus(folder: Path, *, copies: int = 1, size: tuple[int, int] = (320, 240)) -> list[Path]:  # fmt: skip
    """Write every shot (``copies`` times over, each copy distinct pixels) into ``folder``."""
    from exiftool import ExifTool

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with ExifTool() as tool:
        for copy in range(copies):
            target = folder / f"{copy:03d}" if copies > 1 else folder
            target.mkdir(parents=True, exist_ok=True)
            for number, shot in enumerate(SHOTS):
                path = target / shot.name
                _picture(path, shot, size, seed=copy * 1000 + number)
                if shot.tags:
                    tool.execute("-overwrite_original", "-q", *shot.tags, str(path))
                if shot.damage:
                    _damage(path, shot.damage, tool)
                written.append(path)
    return written


def _picture(path: Path, shot: Shot, size: tuple[int, int], seed: int) -> None:
    picture = pattern(*size, seed=seed)
    suffix = path.suffix.lower()
    if suffix in {".jpg", ".jpeg"}:
        picture.save(path, "JPEG", quality=85)
    elif suffix == ".png":
        picture.save(path, "PNG")
    elif suffix == ".webp":
        picture.save(path, "WEBP", quality=80)
    elif suffix == ".heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
        exif = make_exif(**shot.heic)  # type: ignore[arg-type]
        picture.save(path, "HEIF", quality=60, exif=exif.tobytes())
    elif suffix == ".tif" and "big-endian" in path.name:
        import tifffile

        tifffile.imwrite(path, np.asarray(picture), byteorder=">", photometric="rgb")
    elif suffix == ".tif":
        picture.save(path, "TIFF")
    elif suffix == ".dng":
        _dng(path, picture)
    else:
        raise ValueError(f"no picture format for {suffix}")


def _dng(path: Path, picture: Image.Image) -> None:
    """A minimal DNG: a 2x2 RGGB mosaic of the picture, 12 bits, with the tags LibRaw needs."""
    import tifffile

    rgb = np.asarray(picture).astype(np.uint16) * 16
    mosaic = np.empty(rgb.shape[:2], np.uint16)
    mosaic[0::2, 0::2] = rgb[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = rgb[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = rgb[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = rgb[1::2, 1::2, 2]
    identity: list[int] = []
    for value in (1, 0, 0, 0, 1, 0, 0, 0, 1):
        identity += [value * 10000, 10000]
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "Temoin Test DNG", True),  # UniqueCameraModel
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50717, "I", 1, 4095, True),  # WhiteLevel
        (50721, "2i", 9, identity, True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
    ]
    tifffile.imwrite(path, mosaic, photometric=32803, extratags=tags, metadata=None, subfiletype=0)


def _segments(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each marker segment before the scan of a JPEG the factory just wrote."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:
            return
        end = position + 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        yield position, end
        position = end


def _damage(path: Path, how: str, tool: Any) -> None:
    data = bytearray(path.read_bytes())
    if how == "cut-scan":
        data = data[: int(len(data) * 0.6)]
    elif how == "cut-frame":
        data = data[: data.find(b"\xff\xc0")]
    elif how == "zero-frame":
        frame = data.find(b"\xff\xc0")
        data[frame + 5 : frame + 9] = b"\x00\x00\x00\x00"  # height and width
    elif how == "huffman":
        table = data.find(b"\xff\xc4")
        length = int.from_bytes(data[table + 2 : table + 4], "big")
        noise = random.Random(1)
        for i in range(table + 4 + 17, table + 2 + length):
            data[i] = noise.randrange(256)
    elif how == "maker-header":
        start = data.find(b"Exif\x00\x00")
        data[start + 5] = 0xFF
    elif how == "zero-original":
        start = data.find(b"1111:11:11 11:11:11")
        data[start : start + 19] = b"0000:00:00 00:00:00"
    elif how == "exif-late":
        whole = bytes(data)
        segments = list(_segments(whole))
        exif = next((s, e) for s, e in segments if whole[s + 4 : s + 10] == b"Exif\x00\x00")
        last = segments[-1][1]
        data = bytearray(
            whole[: exif[0]] + whole[exif[1] : last] + whole[exif[0] : exif[1]] + whole[last:]
        )
    elif how == "thumbnail":
        thumb = path.with_name(f".{path.stem}-thumb.jpg")
        with Image.open(path) as image:
            image.resize((160, 120)).save(thumb, "JPEG", quality=70)
        tool.execute("-overwrite_original", "-q", f"-ThumbnailImage<={thumb}", str(path))
        thumb.unlink()
        return
    elif how == "cut-heic":
        data = data[: int(len(data) * 0.4)]
    else:
        raise ValueError(f"no such damage: {how}")
    path.write_bytes(bytes(data))
