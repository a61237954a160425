"""Writing to a USB stick so that nothing half-written ever looks complete.

Every file is written under a hidden ``.partial`` name (the extension kept, for
writers that choose a format by it), hashed as it is written, fsynced,
renamed into place, and its folder fsynced, so a pulled stick or a killed
export leaves at most a ``.partial`` file, which the next export removes, and
every file that is complete stays, for the next export to reuse. Files are
written through ``stick.Folder`` (no link on the stick is followed). FAT32
cannot hold a file of 4 GiB or more; ``max_file_bytes`` tells the limit of the
filesystem a path is on, read from ``/proc/self/mountinfo``; a larger file is
written in parts (``name.000``, ``name.001``...).
"""

import errno
import hashlib
import logging
import os
import stat

from dashcam.errors import DashcamError

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
PARTIAL = ".partial"
FAT_TYPES = ("vfat", "msdos", "fat", "umsdos")
FAT_MAX_FILE = 4 * 1024 ** 3 - 1


class ExportError(DashcamError, IOError):
    """An export cannot be done (no space, a file too big, a device in use): it says why."""


def partial_name(name):
    """Where ``name`` is written until it is complete: ``event-7.mp4`` is
    ``.event-7.partial.mp4`` (a folder ``2024-05-01T12-30-00Z``, ``.2024-05-01T12-30-00Z.partial``)."""
    stem, ext = os.path.splitext(name)
    return "." + stem + PARTIAL + ext


def is_partial(name):
    return name.startswith(".") and PARTIAL + "." in name + "."


class HashingWriter:
    """A binary file ``name`` in ``folder`` (a ``stick.Folder``), written as
    ``partial_name(name)`` until ``commit``, hashed as written.

    ``commit()`` fsyncs, renames it into place and fsyncs its folder; leaving
    the ``with`` block without a commit (an error) removes the partial file.
    ``sha256`` and ``bytes`` describe what was written.
    """

    def __init__(self, folder, name):
        self.folder, self.name = folder, name
        self.partial = partial_name(name)
        self.handle = folder.create(self.partial)
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
        self.folder.rename(self.partial, self.name)
        self.folder.sync()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self.handle.closed:
            try:
                self.handle.close()   # a full stick may refuse even the buffered rest
            finally:
                self.folder.remove(self.partial)


def part_sizes(size, limit):
    """The sizes of the parts a file of ``size`` bytes is written in, each at most ``limit``."""
    if not limit or size <= limit:
        return [size]
    return [min(limit, size - start) for start in range(0, size, limit)]


def part_names(name, size, limit):
    """``[name]``, or ``name.000``, ``name.001``... when ``size`` exceeds ``limit``."""
    count = len(part_sizes(size, limit))
    return [name] if count == 1 else [f"{name}.{i:03d}" for i in range(count)]


def chunks(handle, size):
    """The next ``size`` bytes of ``handle`` (fewer at its end), a chunk at a time."""
    left = size
    while left > 0:
        chunk = handle.read(min(CHUNK, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def read_hash(handle, size):
    """The SHA-256 (hex) of the next ``size`` bytes of ``handle``."""
    digest = hashlib.sha256()
    for chunk in chunks(handle, size):
        digest.update(chunk)
    return digest.hexdigest()


def source_parts(handle, size, name, limit):
    """``[(name, sha256, bytes)]`` that ``copy_parts`` would write for ``handle`` (read from
    where it is to its end, then put back)."""
    start = handle.tell()
    sizes = part_sizes(size, limit)
    parts = [(n, read_hash(handle, s), s) for n, s in zip(part_names(name, size, limit), sizes)]
    handle.seek(start)
    return parts


def size_on(folder, name):
    """The size of the regular file ``name`` in ``folder``; None when absent, a link or not a file."""
    handle = folder.reader(name)
    if handle is None:
        return None
    with handle:
        return os.fstat(handle.fileno()).st_size


def holds(folder, parts):
    """Whether ``folder`` has each ``(name, sha256, bytes)`` of ``parts`` as a regular file whose
    hash, read back from it, is that one."""
    for name, sha, size in parts:
        handle = folder.reader(name)
        if handle is None:
            return False
        with handle:
            if os.fstat(handle.fileno()).st_size != size or read_hash(handle, size) != sha:
                return False
    return True


def copy_parts(handle, size, folder, name, limit=None, progress=None):
    """Copy ``size`` bytes of ``handle`` to ``name`` in ``folder``, or, past ``limit`` bytes, to
    ``name.000``, ``name.001``... each at most ``limit``. Returns ``[(name, sha256, bytes)]``."""
    parts = []
    for part, part_size in zip(part_names(name, size, limit), part_sizes(size, limit)):
        with HashingWriter(folder, part) as out:
            for chunk in chunks(handle, part_size):
                out.write(chunk)
                if progress:
                    progress(len(chunk))
            out.commit()
        parts.append((part, out.sha256, out.bytes))
    return parts


def remove_partials(folder):
    """Remove what killed exports left in ``folder`` (a ``stick.Folder``): ``partial_name``
    files, and folders of files; names what it removed."""
    removed = []
    for name in folder.names():
        if not is_partial(name):
            continue
        if folder.kind(name) == stat.S_IFDIR:
            if not folder.remove_files_folder(name):
                log.warning("left %s: it holds folders, which no export makes",
                            folder.where(name))
                continue
        else:
            folder.remove(name)
        removed.append(folder.where(name))
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


def free_bytes(where):
    """Free bytes on the filesystem of ``where``: a path or a ``stick.Folder``."""
    stats = os.statvfs(getattr(where, "fd", where))
    return stats.f_bavail * stats.f_frsize


def check_space(where, needed, what):
    """ExportError when the filesystem of ``where`` (a path or a ``stick.Folder``) has under
    ``needed`` bytes (plus 1 % and 16 MiB of slack, which the filesystem's own bookkeeping
    takes) free."""
    free = free_bytes(where)
    path = getattr(where, "path", where)
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
