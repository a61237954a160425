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


@contextlib.contextmanager
def loop_stick(folder, mkfs, size_mb=32):
    """A real block device (a loop device over an image file in ``folder``) formatted by
    ``mkfs`` (``["mkfs.ext4", "-q"]``, ``["mkfs.vfat"]``); yields ``(device, probe)``, probe an
    empty folder to mount it on for a look. Skips where root, losetup, ``mkfs`` or mounting
    are missing."""
    import shutil
    import tempfile

    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which(mkfs[0]):
        pytest.skip(f"needs root, losetup and {mkfs[0]} for a loop device")
    image = os.path.join(str(folder), "stick.img")
    with open(image, "wb") as handle:
        handle.truncate(size_mb * 1024 * 1024)
    subprocess.run(mkfs + [image], check=True, stdout=subprocess.DEVNULL)
    made = subprocess.run(["losetup", "-f", "--show", image], stdout=subprocess.PIPE,
                          universal_newlines=True)
    if made.returncode != 0:
        pytest.skip("no loop device can be set up here")
    device = made.stdout.strip()
    probe = tempfile.mkdtemp()
    try:
        tried = subprocess.run(["mount", device, probe], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True)
        if tried.returncode != 0:
            pytest.skip("cannot mount {} here: {}".format(mkfs[0], tried.stdout.strip()))
        subprocess.run(["umount", probe], check=True)
        yield device, probe
    finally:
        subprocess.run(["losetup", "-d", device])
        os.rmdir(probe)
