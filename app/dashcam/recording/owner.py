"""Which store a recordings folder belongs to: a marker in the folder that names it.

A segment means something only through the store that indexes it (its run,
its clips, whether it is evidence). A second store on the same folder takes
the first one's files for its own crash leftovers: its recovery cuts and
indexes them, and both write into the same ``run-NNNNNN/`` folders. So the
folder names its store in ``.dashcam-store`` (its absolute path), created
with ``O_EXCL`` so that two stores starting at once cannot both claim it,
and any other store is refused at the start with one line naming both and
the fix.

Why a marker: the damage is done one store after the other (``--db a.db``,
later ``--db b.db``), which a lock, gone with its holder, cannot see; a
folder per store would move every recording out of the layout that export,
``dashcam clip`` and users know. A store that was moved (its old path gone)
keeps its folder when it indexes the video in it.
"""

import errno
import logging
import os

from dashcam.errors import RecordingError
from dashcam.recording.segments import segment_files

log = logging.getLogger(__name__)

MARKER = ".dashcam-store"


def owner(folder):
    """The store path that ``folder``'s marker names, or None when it has none."""
    try:
        with open(os.path.join(folder, MARKER)) as handle:
            return handle.read().strip() or None
    except OSError as error:
        if error.errno == errno.ENOENT:
            return None
        raise RecordingError("cannot read {}: {}".format(os.path.join(folder, MARKER),
                                                         error.strerror or error))


def claim(folder, store_path, indexed):
    """Make ``folder`` the recordings folder of the store at ``store_path``, or refuse.

    ``indexed``: the relative paths that store indexes. A folder without a
    marker is claimed when it holds no video, or video this store indexes (a
    folder from before markers); a folder of another store that still exists
    is refused with a ``RecordingError``; one whose store is gone is taken over
    when this store indexes its video (the store was moved).
    """
    store = os.path.realpath(store_path)
    current = owner(folder)
    if current == store:
        return
    files = segment_files(folder)
    ours = bool(indexed.intersection(files))
    if current is None:
        if files and not ours:
            raise RecordingError(
                "recordings folder {} holds video that store {} does not index (another "
                "store's?): pass --recordings DIR (or [recording] path) for this store, or "
                "write its path into {} to let it take the folder over".format(
                    folder, store, os.path.join(folder, MARKER)))
        if _write(folder, store, exclusive=True):
            return
        current = owner(folder)   # another store claimed it just now, or a claim was cut short
        if current in (None, store):
            _write(folder, store, exclusive=False)
            return
    if os.path.exists(current) or not ours:
        raise RecordingError(
            "recordings folder {} belongs to store {}: pass --recordings DIR (or [recording] "
            "path) for store {}, which must not share it".format(folder, current, store))
    log.warning("recordings folder %s: its store %s is gone and %s indexes its video (moved): "
                "it belongs to %s now", folder, current, store, store)
    _write(folder, store, exclusive=False)


def _write(folder, store, exclusive):
    """Write the marker naming ``store``: created with ``O_EXCL`` (False when it exists
    already), or replaced whole by a renamed temporary file.

    A volume too full for the marker does not stop recording (retention makes
    room): the claim is made at the next start, and said so.
    """
    path = os.path.join(folder, MARKER)
    target = path if exclusive else path + ".part"
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC),
                     0o644)
    except OSError as error:
        if error.errno == errno.EEXIST:
            return False
        raise RecordingError(f"cannot write {path}: {error.strerror or error}")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(store + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if not exclusive:
            os.replace(target, path)
    except OSError as error:
        os.remove(target)
        log.warning("recordings folder %s: cannot write %s (%s); it is claimed for %s at the "
                    "next start", folder, MARKER, error.strerror or error, store)
    return True
