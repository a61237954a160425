"""The evidence beside the tables: each event's protected clip, joined into one MP4, and its snapshot.

What exists is found in the store snapshot at export time, so an export works
on a store without the recording feature and uses what it wrote when it is
there: table ``segments`` (``path`` relative to the recordings folder,
``bytes``, ``protected``), table ``clips`` (``event_id``, ``segment_id``) and
column ``events.snapshot`` (a JPEG path relative to the recordings folder).
A clip is joined by the recording feature's ``write_clip(reader, event_id,
out_path, recordings_dir)``; one that would pass the stick's largest file
(FAT32: 4 GiB) is exported as its segments instead, each playable alone.

Evidence goes to folders shared by every export on the stick (``clips/``,
``snapshots/``), and ``.index.json`` there remembers, for each file, what it
was made from (the sources' paths, sizes and modification times) and its
hash: a later export whose sources are unchanged, and whose file on the stick
still has the size and time it was written with, skips it and reuses its hash.
"""

import json
import logging
import os
from collections import OrderedDict, namedtuple

from dashcam.errors import DashcamError
from dashcam.export.files import HashingWriter, copy_parts, fsync_dir, partial_name, sha256_file
from dashcam.store import event_snapshots, has_table, protected_clip_segments, table_columns

log = logging.getLogger(__name__)

INDEX = ".index.json"

# One piece of evidence: ``name`` its path under the stick's dashcam folder,
# ``kind`` "clip", "segments" or "snapshot", ``sources`` absolute paths,
# ``bytes`` what the sources hold.
Item = namedtuple("Item", "event_id kind name sources bytes")


def plan(conn, recordings_dir, with_clips, limit=None):
    """The evidence the store names: ``(items, notes)``; notes say what could not be found."""
    items, notes = [], []
    if "snapshot" in table_columns(conn, "events"):
        for event_id, relative in event_snapshots(conn):
            source = os.path.join(recordings_dir, relative)
            if not os.path.isfile(source):
                notes.append(f"event {event_id}: snapshot {relative} is missing")
                continue
            ext = os.path.splitext(relative)[1].lower() or ".jpg"
            items.append(Item(event_id, "snapshot", f"snapshots/event-{event_id:06d}{ext}",
                              (source,), os.path.getsize(source)))
    if with_clips and has_table(conn, "clips") and has_table(conn, "segments"):
        clips = OrderedDict()
        for event_id, relative, _size in protected_clip_segments(conn):
            clips.setdefault(event_id, []).append(os.path.join(recordings_dir, relative))
        for event_id, sources in clips.items():
            missing = [s for s in sources if not os.path.isfile(s)]
            if missing:
                notes.append("event {}: {} of its {} clip segments are missing, clip not "
                             "exported".format(event_id, len(missing), len(sources)))
                continue
            total = sum(os.path.getsize(s) for s in sources)
            kind = "segments" if limit and total > limit else "clip"
            name = f"clips/event-{event_id:06d}" + (".mp4" if kind == "clip" else "")
            items.append(Item(event_id, kind, name, tuple(sources), total))
    return items, notes


def fingerprint(item):
    """What ``item`` is made from, as the index records it: each source's path, size and mtime."""
    return [item.kind] + [[s, os.path.getsize(s), os.stat(s).st_mtime_ns] for s in item.sources]


def read_index(root):
    try:
        with open(os.path.join(root, INDEX)) as handle:
            index = json.load(handle)
        return index if isinstance(index, dict) else {}
    except (OSError, ValueError):
        return {}


def write_index(root, index):
    with HashingWriter(os.path.join(root, INDEX)) as out:
        out.write(json.dumps(index, sort_keys=True, indent=1).encode("utf-8"))
        out.commit()


def unchanged(root, entry, item):
    """Whether the stick already has ``item`` as ``entry`` (from the index) describes it."""
    if not entry or entry.get("source") != fingerprint(item):
        return False
    for name, _, size, mtime_ns in entry["files"]:
        path = os.path.join(root, name)
        try:
            stats = os.stat(path)
        except OSError:
            return False
        if stats.st_size != size or stats.st_mtime_ns != mtime_ns:
            return False
    return True


def files_entry(root, item, written):
    """The index entry for ``item`` once its files ``[(path, sha256, bytes)]`` are in place."""
    return {"source": fingerprint(item),
            "files": [[os.path.relpath(path, root), sha, size, os.stat(path).st_mtime_ns]
                      for path, sha, size in written]}


def put(root, item, snapshot_path, recordings_dir, write_clip, limit, progress):
    """Write ``item`` under ``root``; returns ``[(path, sha256, bytes)]`` of what it wrote."""
    target = os.path.join(root, item.name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if item.kind == "snapshot":
        return copy_parts(item.sources[0], target, limit, progress)
    if item.kind == "segments":
        os.makedirs(target, exist_ok=True)
        written = []
        for source in item.sources:
            written += copy_parts(source, os.path.join(target, os.path.basename(source)), limit,
                                  progress)
        return written
    from dashcam.store import StoreReader

    partial = partial_name(target)
    try:
        with StoreReader(snapshot_path) as reader:
            write_clip(reader, item.event_id, partial, recordings_dir)
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.rename(partial, target)
        fsync_dir(os.path.dirname(target))
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    if progress:
        progress(item.bytes)
    return [(target, sha256_file(target), os.path.getsize(target))]


def clip_writer():
    """The recording feature's ``write_clip``, or None where this build has no recording."""
    try:
        from dashcam.recording import write_clip
    except ImportError:
        return None
    return write_clip


def export_evidence(root, items, snapshot_path, recordings_dir, write_clip, limit, progress):
    """Put every item under ``root`` (the stick's dashcam folder), skipping those the index
    says are there unchanged. Returns ``(files, skipped, notes)``: ``files`` maps item to
    ``[(name under root, sha256, bytes)]``."""
    index = read_index(root)
    files, skipped, notes = OrderedDict(), 0, []
    for item in items:
        entry = index.get(item.name)
        if unchanged(root, entry, item):
            skipped += 1
            files[item] = [(name, sha, size) for name, sha, size, _ in entry["files"]]
            if progress:
                progress(item.bytes)
            continue
        try:
            written = put(root, item, snapshot_path, recordings_dir, write_clip, limit, progress)
        except DashcamError as error:   # the recording feature's "this event has no clip"
            notes.append(f"event {item.event_id}: no clip ({error})")
            continue
        index[item.name] = files_entry(root, item, written)
        files[item] = [(os.path.relpath(p, root), sha, size) for p, sha, size in written]
    write_index(root, index)
    return files, skipped, notes
