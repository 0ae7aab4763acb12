"""The real CLI in a process whose disk fills up, without filling the test machine's disk.

A file-size limit (``RLIMIT_FSIZE``) makes every write past it fail with EFBIG, the way a full disk
fails with ENOSPC and a full quota with EDQUOT; SIGXFSZ is ignored so the write fails instead of
killing the process. Writes that straddle the limit come back short, as they do on a full disk.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import temoin

_CHILD = """\
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from temoin.cli.main import main
main(sys.argv[2:])
"""


def run_cli_with_file_limit(
    *args: str, limit: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`temoin ARGS` where no file can grow past ``limit`` bytes; its output and exit status."""
    source = str(Path(temoin.__file__).resolve().parents[1])
    paths = [source, *filter(None, [os.environ.get("PYTHONPATH")])]
    child_env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(limit), *args],
        cwd=cwd,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


# Prints the process's own peak resident memory (KiB) as its last line on stderr. VmHWM belongs to
# the process's memory map, which exec starts afresh: ru_maxrss would carry the peak of the
# (large) test process it was forked from.
PEAK_CHILD = """\
import sys
from temoin.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(peak, file=sys.stderr)
sys.exit(code or 0)
"""


def peak_kib(stderr: str | bytes) -> int:
    """The peak a PEAK_CHILD printed last."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    return int(text.strip().splitlines()[-1])
