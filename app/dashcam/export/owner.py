"""A stick export runs as the owner of the evidence, not as root.

Mounting a stick needs root (CAP_SYS_ADMIN); reading the store and writing the
stick do not. So ``hand_over`` mounts as root, then runs the export in a child
process that has become the store's owner (its uid and gid, no other group):
a root process that changes its uid loses its capabilities, so whatever the
stick or the store holds, the export reads and writes no more than the
service itself could (not /etc/shadow, not /etc), and the stick. The parent,
still root, unmounts when the child is done. The result comes back as JSON
over a pipe: a more privileged process never unpickles what a less privileged
one sends.

A stick whose filesystem has no owners (FAT, exFAT, NTFS) is mounted as the
owner's (``uid=``/``gid=``); on one that keeps them (ext2/3/4) the parent
hands the box's folder, and what an export keeps in it, to the owner.
"""

import json
import logging
import os
import signal
import stat
import traceback
from collections import namedtuple

from dashcam.errors import DashcamError
from dashcam.export.files import ExportError

log = logging.getLogger(__name__)

Owner = namedtuple("Owner", "uid gid")
# How deep an export's files lie below the box's folder: clips/event-000007/segment.ts.
DEPTH = 3


def evidence_owner(db_path):
    """The ``Owner`` of the store file at ``db_path``, or None when there is none (the export
    then says so itself)."""
    try:
        stats = os.stat(db_path)
    except FileNotFoundError:
        return None
    return Owner(stats.st_uid, stats.st_gid)


def become(owner):
    """Turn this process into ``owner``: its groups, then its uid (which drops every capability)."""
    os.setgroups([owner.gid])
    os.setresgid(owner.gid, owner.gid, owner.gid)
    os.setresuid(owner.uid, owner.uid, owner.uid)


def as_owner(owner, work):
    """``work()`` (returning a JSON value) run as ``owner``: here when this process is that
    user already (or ``owner`` is None), else in a child process that becomes it. A
    DashcamError in the child is raised here as an ExportError with its message."""
    if owner is None or owner.uid == os.geteuid():
        return work()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        os.close(reader)
        code, out = 0, {}
        try:
            become(owner)
            out = {"result": work()}
        except DashcamError as error:
            out = {"error": str(error)}
        except BaseException as error:
            traceback.print_exc()
            out, code = {"crash": f"{type(error).__name__}: {error}"}, 1
        finally:
            with os.fdopen(writer, "w") as pipe:
                json.dump(out, pipe)
            os._exit(code)
    os.close(writer)
    try:
        with os.fdopen(reader) as pipe:
            text = pipe.read()
    except BaseException:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    try:
        out = json.loads(text)
    except ValueError:
        raise ExportError("the export process (user {}) ended without a word ({}): nothing "
                          "more was exported".format(owner.uid, _how(status)))
    if "result" in out:
        return out["result"]
    if "error" in out:
        raise ExportError(out["error"])
    raise ExportError("the export process (user {}) stopped on an unexpected error, {} (its "
                      "traceback is above)".format(owner.uid, out.get("crash")))


def _how(status):
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"


def give_to(folder, owner, depth=DEPTH):
    """Make ``folder`` (a ``stick.Folder``) and what lies in it, ``depth`` levels down, the
    owner's; links are changed themselves, never followed, and deeper folders (no export
    makes them) are left as they are."""
    os.fchown(folder.fd, owner.uid, owner.gid)
    for name in folder.names():
        os.chown(name, owner.uid, owner.gid, dir_fd=folder.fd, follow_symlinks=False)
        if depth > 1 and folder.kind(name) == stat.S_IFDIR:
            with folder.folder(name) as inner:
                give_to(inner, owner, depth - 1)
