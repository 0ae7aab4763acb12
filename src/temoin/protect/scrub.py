"""An independent check that a derivative carries no identifying metadata.

The writer in this package and this check must not share code: the check asks Debian's
``exiftool``, which reads far more formats and vendor blocks than Pillow or FFmpeg, and reports what
it sees. Anything outside a short list of structural groups is a problem; inside them, names that
speak of places, devices, people, software or non-zero dates are problems too. exiftool is an
audit and test dependency only: redaction itself never needs it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from temoin.errors import ExiftoolMissing, TemoinError

# Groups (exiftool family 1) whose tags describe the container and pixels, not the scene.
_STRUCTURAL_GROUPS = re.compile(
    r"^(ExifTool|System|File|JFIF|Composite|PNG|Adobe|QuickTime|Track\d+|Media\d*|Video\d*|"
    r"Audio\d*|ICC_Profile|ICC-header|ICC-view|ICC-meas|ICC-chrm)$"
)
# Tag names that are a problem wherever they appear.
_IDENTIFYING = re.compile(
    r"GPS|Location|ISO6709|Latitude|Longitude|Altitude|Make|Model|Serial|Software|Encoder|"
    r"Author|Artist|Creator|Copyright|Comment|Title|Owner|Lens|Camera|Device|Firmware|"
    r"ContentIdentifier|UserData|Keywords|Subject",
    re.IGNORECASE,
)
# Names that are structural although they match the pattern above.
_HARMLESS = {
    "ICC-header:DeviceManufacturer",  # checked through ProfileDescription instead
    "ICC-header:DeviceModel",
    "ICC-header:DeviceAttributes",
    "ICC-header:ProfileCreator",
    "ICC-header:ProfileCMMType",
    "ICC-header:PrimaryPlatform",
    "ICC-header:ConnectionSpaceIlluminant",
    "ICC-header:RenderingIntent",
    "ICC_Profile:DeviceMfgDesc",
    "ICC_Profile:DeviceModelDesc",
    "ICC_Profile:ProfileCopyright",
    "QuickTime:HandlerVendorID",
    "Track1:HandlerVendorID",
    "File:FileTypeExtension",
}
# Tags that describe the file on this machine, not the media; their dates are the filesystem's.
_FILESYSTEM = re.compile(r"^System:")
_DATE = re.compile(r"Date|Time$")
_ZERO_DATE = re.compile(r"^[0: ]*$")
_NON_DATE_TIMES = re.compile(
    r"Duration|TimeScale|PreviewTime|PosterTime|SelectionTime|CurrentTime|Exposure|ZoneOffset"
)


def read_tags(path: Path) -> dict[str, Any]:
    """Every tag exiftool sees, keyed ``Group:Name``, values numeric where exiftool allows."""
    exe = shutil.which("exiftool")
    if exe is None:
        raise ExiftoolMissing()
    proc = subprocess.run(
        [exe, "-json", "-a", "-G1", "-n", "-u", "--", str(path)],
        capture_output=True,
        check=False,
        text=True,
    )
    if not proc.stdout.strip():
        raise TemoinError(f"{Path(path).name}: exiftool could not read it ({proc.stderr.strip()})")
    records: list[dict[str, Any]] = json.loads(proc.stdout)
    return records[0] if records else {}


def assert_clean(path: Path) -> list[str]:
    """Problems found in ``path``'s metadata, one line each; an empty list means clean."""
    problems: list[str] = []
    for key, value in read_tags(Path(path)).items():
        if key == "SourceFile" or ":" not in key or key in _HARMLESS:
            continue
        problem = _problem(key, value)
        if problem:
            problems.append(f"{key}={_short(value)}: {problem}")
    return problems


def _problem(key: str, value: Any) -> str | None:
    group, name = key.split(":", 1)
    if group == "ExifTool":
        return None
    if group.startswith("ICC") and name == "ProfileDescription" and "sRGB" not in str(value):
        return "colour profile other than sRGB (may name the device)"
    if _IDENTIFYING.search(name) and not _FILESYSTEM.match(key):
        if group == "File" and name == "FileType":
            return None
        return "identifying tag"
    if not _STRUCTURAL_GROUPS.match(group):
        return f"metadata block {group} should not be present"
    if _FILESYSTEM.match(key):
        return None
    is_date = _DATE.search(name) and not _NON_DATE_TIMES.search(name)
    if is_date and not _ZERO_DATE.match(str(value)):
        return "non-zero date"
    return None


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
