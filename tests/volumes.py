"""A real small file system for disk-full and quota tests: a tmpfs mounted for the test.

Mounting needs root (CI and the development machines run as root); where the
mount is refused the test is skipped with the reason, and the quota tests
that only need the code's own accounting run on a plain folder instead.
"""

import contextlib
import os
import subprocess

import pytest


@contextlib.contextmanager
def small_volume(path, size):
    """A tmpfs of ``size`` (``"8m"``) mounted at ``path`` (created) while the block runs."""
    os.makedirs(str(path), exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                             str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stdout.strip()}")
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)])


def fill(folder, leave=0):
    """Fill ``folder``'s volume with one file until ``leave`` bytes are left; its path."""
    path = os.path.join(str(folder), "ballast")
    stats = os.statvfs(str(folder))
    size = max(0, stats.f_bavail * stats.f_frsize - leave)
    with open(path, "wb") as handle:
        try:
            handle.write(b"\0" * size)
            handle.flush()
        except OSError:
            pass
    return path
