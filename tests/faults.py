"""Helpers for the fault tests and the hostile battery (``bench/hostile.py``): kill a process
at a chosen moment, make a file read-only for a while, run ``python -m etl`` as a process file
permissions apply to."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

ROOT = Path(__file__).resolve().parent.parent


class Killed(NamedTuple):
    seconds: float      # from the start to the kill (or to its own end)
    ended_first: bool   # it ended by itself before the kill
    returncode: int


def kill_when(command: list[str], moment: Callable[[], bool] | None = None, delay: float = 0.0,
              deadline: float = 120.0, poll: float = 0.01, **popen) -> Killed:
    """Start ``command`` (in the project folder) and SIGKILL it ``delay`` s after ``moment()``
    is first true (after its start when ``moment`` is None), or ``deadline`` s after its start
    at the latest."""
    child = subprocess.Popen(command, cwd=ROOT, **popen)
    began = time.perf_counter()
    seen = began if moment is None else None
    while child.poll() is None:
        now = time.perf_counter()
        if seen is None and moment():
            seen = now
        if (seen is not None and now - seen >= delay) or now - began > deadline:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            return Killed(now - began, False, child.returncode)
        time.sleep(poll)
    return Killed(time.perf_counter() - began, True, child.returncode)


class PermissionsWouldNotApply(RuntimeError):
    """Running as root without ``setpriv``: a read-only file would not stop a command."""


def unprivileged() -> list[str]:
    """A prefix that makes file permissions apply to a command even when run as root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PermissionsWouldNotApply(
            "running as root without setpriv: file permissions would not apply")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def run_etl(master: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m etl ARGS --db master`` as its own process, which file permissions apply
    to (raises PermissionsWouldNotApply where they cannot)."""
    return subprocess.run([*unprivileged(), sys.executable, "-m", "etl", *args, "--db",
                           str(master)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` (a file or a folder) without write permission while inside."""
    mode = stat.S_IMODE(path.stat().st_mode)
    path.chmod(mode & ~0o222)
    try:
        yield
    finally:
        path.chmod(mode)
