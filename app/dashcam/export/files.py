"""Writing to a USB stick so that nothing half-written ever looks complete.

Every file is written under a hidden ``.partial`` name (the extension kept, for
writers that choose a format by it), hashed as it is written,
fsynced, renamed into place, and its folder fsynced, so a pulled stick or a
killed export leaves at most a ``.partial`` file, which the next export
removes. FAT32 cannot hold a file of 4 GiB or more; ``max_file_bytes`` tells
the limit of the filesystem a path is on, read from ``/proc/self/mountinfo``.
"""

import errno
import hashlib
import os
import shutil

from dashcam.errors import DashcamError

CHUNK = 1024 * 1024
PARTIAL = ".partial"
FAT_TYPES = ("vfat", "msdos", "fat", "umsdos")
FAT_MAX_FILE = 4 * 1024 ** 3 - 1


class ExportError(DashcamError, IOError):
    """An export cannot be done (no space, a file too big, a device in use): it says why."""


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def partial_name(path):
    """Where ``path`` is written until it is complete: ``clips/event-7.mp4`` is
    ``clips/.event-7.partial.mp4`` (a folder ``2024-05-01T12-30-00Z``, ``.2024-05-01T12-30-00Z.partial``)."""
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    return os.path.join(folder, "." + stem + PARTIAL + ext)


def is_partial(name):
    return name.startswith(".") and PARTIAL + "." in name + "."


class HashingWriter:
    """A binary file at ``path`` (as ``partial_name(path)`` until ``commit``), hashed as written.

    ``commit()`` fsyncs, renames it into place and fsyncs its folder; leaving
    the ``with`` block without a commit (an error) removes the partial file.
    ``sha256`` and ``bytes`` describe what was written.
    """

    def __init__(self, path):
        self.path = path
        self.partial = partial_name(path)
        self.handle = open(self.partial, "wb")
        self.hash = hashlib.sha256()
        self.bytes = 0

    def write(self, data):
        self.handle.write(data)
        self.hash.update(data)
        self.bytes += len(data)

    @property
    def sha256(self):
        return self.hash.hexdigest()

    def commit(self):
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.rename(self.partial, self.path)
        fsync_dir(os.path.dirname(self.path) or ".")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.handle.closed:
            self.handle.close()
            os.unlink(self.partial)


def sha256_file(path, progress=None):
    """The SHA-256 of the file at ``path``, hex; ``progress(n)`` after each chunk read."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest()


def copy_parts(source, target, limit=None, progress=None):
    """Copy ``source`` to ``target``, or, when it exceeds ``limit`` bytes, to ``target.000``,
    ``target.001``... each at most ``limit``. Returns ``[(path, sha256, bytes)]``."""
    size = os.path.getsize(source)
    names = [target] if not limit or size <= limit else [
        f"{target}.{i:03d}" for i in range((size + limit - 1) // limit)]
    parts = []
    with open(source, "rb") as handle:
        for name in names:
            left = limit if len(names) > 1 else size
            with HashingWriter(name) as out:
                while left > 0:
                    chunk = handle.read(min(CHUNK, left))
                    if not chunk:
                        break
                    out.write(chunk)
                    left -= len(chunk)
                    if progress:
                        progress(len(chunk))
                out.commit()
            parts.append((name, out.sha256, out.bytes))
    return parts


def remove_partials(folder):
    """Remove what killed exports left in ``folder``: ``partial_name`` files and folders."""
    removed = []
    for name in os.listdir(folder):
        if is_partial(name):
            path = os.path.join(folder, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path)
    return removed


def unescape_mount_path(text):
    """A mount point as mountinfo writes it (space as ``\\040``, and so on) as a path."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def mounts(mountinfo_text):
    """``[(mount point, fstype, "major:minor", source)]`` from /proc/self/mountinfo's text."""
    found = []
    for line in mountinfo_text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) >= 5 and len(tail) >= 2:
            found.append((unescape_mount_path(fields[4]), tail[0], fields[2], tail[1]))
    return found


def filesystem_type(path, mountinfo_text):
    """The type of the filesystem that holds ``path`` (its longest mount point), or None."""
    path = os.path.realpath(path)
    best, kind = "", None
    for point, fstype, _, _ in mounts(mountinfo_text):
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def read_mountinfo():
    try:
        with open("/proc/self/mountinfo") as handle:
            return handle.read()
    except OSError:
        return ""


def max_file_bytes(path, mountinfo_text=None):
    """The largest file the filesystem at ``path`` holds: FAT32's 4 GiB - 1, else None."""
    text = read_mountinfo() if mountinfo_text is None else mountinfo_text
    return FAT_MAX_FILE if filesystem_type(path, text) in FAT_TYPES else None


def free_bytes(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def check_space(path, needed, what):
    """ExportError when the filesystem at ``path`` has under ``needed`` bytes (plus 1 % and
    16 MiB of slack, which the filesystem's own bookkeeping takes) free."""
    free = free_bytes(path)
    wanted = int(needed * 1.01) + 16 * 1024 * 1024
    if free < wanted:
        raise ExportError("not enough space on {} for {}: {} needed, {} free; use a bigger "
                          "stick, free some space, or export less with --since/--until".format(
                              path, what, human_bytes(wanted), human_bytes(free)))


def human_bytes(count):
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024.0


def no_space(error):
    """Whether an OSError says the filesystem is full or the file too big for it."""
    return getattr(error, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
