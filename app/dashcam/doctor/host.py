"""The machine as the doctor's checks see it: files, devices, modules, commands, disks.

Checks read the machine only through a ``Host``, so each check's reasoning can
be run against a machine that is not here (a Jetson, in tests) by a subclass
that answers differently; the real one answers for this machine.
"""

import glob
import grp
import importlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess


class Host:
    """This machine."""

    def read(self, path):
        """The text of ``path`` (NULs stripped), or None."""
        try:
            with open(path, "rb") as handle:
                return handle.read().replace(b"\0", b"").decode("utf-8", "replace")
        except OSError:
            return None

    def exists(self, path):
        return os.path.exists(path)

    def glob(self, pattern):
        return sorted(glob.glob(pattern))

    def can_use(self, path):
        """Whether this process may read and write ``path`` (a device node)."""
        return os.access(path, os.R_OK | os.W_OK)

    def has_module(self, name):
        """Whether ``name`` is installed, without importing it (Jetson.GPIO raises on import
        off a Jetson)."""
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False

    def module(self, name):
        """The imported module, or the one-line reason it cannot be imported."""
        try:
            return importlib.import_module(name)
        except Exception as error:   # ImportError, and whatever a broken binding raises
            return "{}: {}".format(type(error).__name__, str(error).splitlines()[0] if str(error)
                                   else "")

    def which(self, command):
        return shutil.which(command)

    def run(self, command):
        """``(exit status, output)`` of ``command``; (None, reason) when it cannot run."""
        try:
            result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True, timeout=20)
        except (OSError, subprocess.SubprocessError) as error:
            return None, str(error)
        return result.returncode, result.stdout.strip()

    def disk(self, path):
        """``(total, free)`` bytes of the filesystem holding ``path`` (its nearest existing folder)."""
        while path and not os.path.exists(path):
            path = os.path.dirname(path)
        stats = os.statvfs(path or "/")
        return stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize

    def folder_bytes(self, path):
        total = 0
        for folder, _, names in os.walk(path):
            for name in names:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
        return total

    def group_members(self, group):
        """The users in ``group`` (None when there is no such group)."""
        try:
            entry = grp.getgrnam(group)
        except KeyError:
            return None
        members = set(entry.gr_mem)
        members.update(p.pw_name for p in pwd.getpwall() if p.pw_gid == entry.gr_gid)
        return members

    def reach(self, hostname, port, timeout=3.0):
        """None when a TCP connection to ``hostname:port`` opens, else why not, in a few words."""
        try:
            socket.create_connection((hostname, port), timeout).close()
        except socket.gaierror:
            return f"host name {hostname} not found"
        except OSError as error:   # refused, unreachable, timed out
            return error.strerror or str(error) or type(error).__name__
        return None

    def user_exists(self, name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False
