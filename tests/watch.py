"""What happens to files that an export must leave alone, seen by the kernel: Linux inotify
(through ctypes: the standard library has no binding) on the folders and files named."""

import ctypes
import ctypes.util
import errno
import os
import struct

FLAGS = ("access", "modify", "attrib", "close_write", "close_nowrite", "open", "moved_from",
         "moved_to", "create", "delete", "delete_self", "move_self")
ANY = (1 << len(FLAGS)) - 1
# What changes a file or a folder: not reading it (access, open, close_nowrite), nor closing
# a file opened for writing and not written (close_write: SQLite opens its store read-write).
WRITES = ANY & ~(0x01 | 0x08 | 0x10 | 0x20)
HEADER = struct.Struct("iIII")


class Watch:
    """``with Watch() as watch: watch.add(path, mask)``; ``watch.events()`` lists
    ``(path, [flag names])`` for everything that touched a watched path since."""

    def __init__(self):
        self.libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.paths = {}

    def add(self, path, mask=ANY):
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(str(path)), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch", str(path))
        self.paths[wd] = str(path)

    def events(self):
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError as error:
                if error.errno == errno.EAGAIN:
                    return found
                raise
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, size = HEADER.unpack_from(data, offset)
                name = data[offset + HEADER.size:offset + HEADER.size + size].rstrip(b"\0")
                offset += HEADER.size + size
                flags = [f for i, f in enumerate(FLAGS) if mask & (1 << i)]
                if flags:
                    found.append((os.path.join(self.paths.get(wd, "?"), os.fsdecode(name)),
                                  flags))

    def close(self):
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
