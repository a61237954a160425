"""Folders held open by descriptor, and names walked one at a time beneath them, never
through a link.

A stick may come from anyone, and so may a row in the store: a link on the
stick (``dashcam-<host>`` -> /etc) would make a root export write, delete or
read outside it, and a path from the store (``../../etc/shadow``) would make
it copy a file from outside the recordings. So below a folder that the user
named (the stick's mount point, the recordings folder) every name is opened
relative to its parent's descriptor with ``O_NOFOLLOW``: a link is refused
where a folder or the lock must be, replaced where a file is written anyway,
and never followed; ``..``, ``.`` and absolute paths are refused. Python 3.6
has ``dir_fd`` and ``O_NOFOLLOW`` (``openat2``'s ``RESOLVE_BENEATH`` needs
Linux 5.6). Special files (a FIFO, a device) are never opened for I/O: opens
do not block (``O_NONBLOCK``) and only regular files are used.
"""

import errno
import os
import stat

from dashcam.export.files import ExportError

DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Refused(ExportError):
    """A path that is not followed: a link, a special file, or a name outside its folder."""


def components(relative, where):
    """The names of ``relative``, a path below the folder ``where``; Refused when it leaves it."""
    names = relative.split("/")
    if relative.startswith("/") or any(n in ("", ".", "..") for n in names):
        raise Refused(f"{relative} lies outside {where}")
    return names


class Folder:
    """A folder held open (``fd``), known as ``path`` in messages; a context manager."""

    def __init__(self, fd, path):
        self.fd, self.path = fd, path

    @classmethod
    def open(cls, path):
        """The folder the user named: ``path`` is followed as given (a mount point, a link
        they made); below it nothing is."""
        return cls(os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), path)

    def where(self, name):
        return os.path.join(self.path, name)

    def folder(self, name, create=False):
        """The folder ``name`` (made first when ``create``). Refused when it is a link or
        not a folder."""
        if create:
            try:
                os.mkdir(name, 0o755, dir_fd=self.fd)
            except FileExistsError:
                pass
        try:
            return Folder(os.open(name, DIRECTORY, dir_fd=self.fd), self.where(name))
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise Refused("{} is a link or not a folder: not following it; remove it "
                              "and export again".format(self.where(name)))
            raise

    def new_folder(self, name):
        """A folder ``name`` that this call made (FileExistsError if anything is there)."""
        os.mkdir(name, 0o755, dir_fd=self.fd)
        return self.folder(name)

    def descend(self, names, create=False):
        """The folder reached through ``names`` (each made first when ``create``), none of
        them a link (the caller closes it)."""
        here = Folder(os.dup(self.fd), self.path)
        try:
            for name in names:
                below = here.folder(name, create)
                here.close()
                here = below
        except BaseException:
            here.close()
            raise
        return here

    def walk(self, relative):
        """``(folder, name)``: the folder that holds ``relative``'s last name, reached without
        following a link (the caller closes it)."""
        names = components(relative, self.path)
        return self.descend(names[:-1]), names[-1]

    def kind(self, name):
        """``stat.S_IFMT`` of the entry ``name`` (a link is a link), or None if there is none."""
        try:
            return stat.S_IFMT(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        except FileNotFoundError:
            return None

    def reader(self, name):
        """``name`` opened for reading (binary) if it is a regular file, else None: absent,
        a link, a folder or a special file."""
        try:
            fd = os.open(name, READ, dir_fd=self.fd)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ELOOP, errno.EISDIR, errno.ENXIO):
                return None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return os.fdopen(fd, "rb")

    def create(self, name, mode=0o644):
        """A new file ``name`` for writing (binary); whatever entry had the name (a file, a
        link, a special file) is removed first, not followed."""
        self.remove(name)
        return os.fdopen(os.open(name, CREATE, mode, dir_fd=self.fd), "wb")

    def lock_file(self, name):
        """``name`` opened read-write for ``flock``, made if missing; Refused when it is a link
        or not a regular file."""
        try:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_CLOEXEC, 0o644, dir_fd=self.fd)
        except OSError as error:
            if error.errno not in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
                raise
            fd = None
        if fd is not None and stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
        if fd is not None:
            os.close(fd)
        raise Refused("{} is a link or not a file: not following it; remove it and export "
                      "again".format(self.where(name)))

    def remove(self, name):
        """Remove the entry ``name`` if there is one and it is not a folder (a link goes, not
        what it points at)."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def remove_files_folder(self, name):
        """Remove the folder ``name`` with the files in it; False (nothing removed) when it
        holds a folder: this export never made one so deep."""
        with self.folder(name) as inner:
            names = inner.names()
            if any(inner.kind(n) == stat.S_IFDIR for n in names):
                return False
            for entry in names:
                inner.remove(entry)
        os.rmdir(name, dir_fd=self.fd)
        return True

    def rename(self, old, new):
        """``old`` to ``new`` in this folder; an entry at ``new`` (a link too) is replaced."""
        os.rename(old, new, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def names(self):
        return os.listdir(self.fd)

    def sync(self):
        os.fsync(self.fd)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_beneath(top, relative):
    """The regular file at ``relative`` below ``top`` (a Folder), opened for reading through
    folders that are not links; Refused saying why not (outside, a link, missing, denied)."""
    try:
        holder, name = top.walk(relative)
        with holder:
            if holder.kind(name) is None:
                raise FileNotFoundError(relative)
            handle = holder.reader(name)
    except FileNotFoundError:
        raise Refused(f"{relative} is missing")
    except PermissionError as error:
        raise Refused(f"{relative} cannot be read ({error.strerror})")
    if handle is None:
        raise Refused(f"{relative} is a link or not a file: not following it")
    return handle
