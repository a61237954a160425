"""The evidence beside the tables: each event's protected clip, joined into one MP4, and its snapshot.

What exists is found in the store snapshot at export time, so an export works
on a store without the recording feature and uses what it wrote when it is
there: table ``segments`` (``path`` relative to the recordings folder,
``bytes``, ``protected``), table ``clips`` (``event_id``, ``segment_id``) and
column ``events.snapshot`` (a JPEG path relative to the recordings folder).
Those paths are read from below the recordings folder only (``stick.open_beneath``:
no ``..``, no link): a row naming ``../../etc/shadow`` is noted, not followed.
A clip is joined by the recording feature's ``write_clip(reader, event_id,
out_path, recordings_dir)`` into a private local folder, then copied; one that
would pass the stick's largest file (FAT32: 4 GiB) is exported as its
segments instead, each playable alone.

Evidence goes to folders shared by every export on the stick (``clips/``,
``snapshots/``). A file already there is reused only when its hash, read
back from the stick, is the hash of what would be written (the source file,
or the clip as joined now): nothing written on the stick is believed, so a
file altered there is written again, and the files that an interrupted
export completed are reused by the next.
"""

import logging
import os
import sys
from collections import OrderedDict, namedtuple

from dashcam.errors import DashcamError
from dashcam.export.files import (ExportError, copy_parts, free_bytes, holds, human_bytes,
                                  no_space, part_names, part_sizes, size_on, source_parts)
from dashcam.export.stick import Refused, open_beneath
from dashcam.store import (StoreReader, event_snapshots, has_table, protected_clip_segments,
                           table_columns)

log = logging.getLogger(__name__)

# One piece of evidence: ``name`` its path under the stick's dashcam folder,
# ``kind`` "clip", "segments" or "snapshot", ``sources`` ``(path below the
# recordings folder, bytes)`` pairs, ``bytes`` what the sources hold.
Item = namedtuple("Item", "event_id kind name sources bytes")


class Skipped(DashcamError):
    """A clip that cannot be made from what the recordings hold; the export goes on without it."""


def source_size(recordings, relative):
    """The size of the file at ``relative`` below ``recordings`` (a ``stick.Folder``);
    Refused saying why it is not exported (missing, outside, a link). ``recordings`` None:
    there is no recordings folder."""
    if recordings is None:
        raise Refused(f"{relative} is missing (there is no recordings folder)")
    with open_beneath(recordings, relative) as handle:
        return os.fstat(handle.fileno()).st_size


def plan(conn, recordings, with_clips, limit=None):
    """The evidence the store names: ``(items, notes)``; notes say what is not exported, and why."""
    items, notes = [], []
    if "snapshot" in table_columns(conn, "events"):
        for event_id, relative in event_snapshots(conn):
            try:
                size = source_size(recordings, relative)
            except Refused as error:
                notes.append(f"event {event_id}: snapshot not exported: {error}")
                continue
            ext = os.path.splitext(relative)[1].lower() or ".jpg"
            items.append(Item(event_id, "snapshot", f"snapshots/event-{event_id:06d}{ext}",
                              ((relative, size),), size))
    if with_clips and has_table(conn, "clips") and has_table(conn, "segments"):
        clips = OrderedDict()
        for event_id, relative, _size in protected_clip_segments(conn):
            clips.setdefault(event_id, []).append(relative)
        for event_id, paths in clips.items():
            sources, refused = [], []
            for relative in paths:
                try:
                    sources.append((relative, source_size(recordings, relative)))
                except Refused as error:
                    refused.append(error)
            if refused:
                notes.append("event {}: clip not exported: {} of its {} segments cannot be "
                             "read ({})".format(event_id, len(refused), len(paths), refused[0]))
                continue
            total = sum(size for _, size in sources)
            kind = "segments" if limit and total > limit else "clip"
            name = f"clips/event-{event_id:06d}" + (".mp4" if kind == "clip" else "")
            items.append(Item(event_id, kind, name, tuple(sources), total))
    return items, notes


def targets(item):
    """``[(folder under the stick's dashcam folder, file name, source)]`` that ``item`` is
    written as (a joined clip's source is None: it is made at export time)."""
    if item.kind == "segments":
        return [(item.name, os.path.basename(p), (p, size)) for p, size in item.sources]
    folder, name = os.path.split(item.name)
    return [(folder, name, item.sources[0] if item.kind == "snapshot" else None)]


def missing_bytes(root, items, limit):
    """The bytes of ``items`` that the stick lacks, for the space check before copying: an item
    counts unless each of its files is there with its source's size (a joined clip: at all)."""
    total = 0
    for item in items:
        for folder, name, source in targets(item):
            try:
                with root.walk(folder + "/" + name)[0] as holder:
                    if source is None:
                        there = size_on(holder, name) is not None
                    else:
                        sizes = part_sizes(source[1], limit)
                        there = [size_on(holder, n) for n in part_names(name, source[1],
                                                                        limit)] == sizes
            except FileNotFoundError:
                there = False
            if not there:
                total += item.bytes
                break
    return total


def place(handle, size, folder, name, limit, progress):
    """Put ``size`` bytes of ``handle`` as ``name`` in ``folder`` (a ``stick.Folder``) unless the
    stick holds them already, checked by hash; returns ``([(name, sha256, bytes)], reused)``."""
    names, sizes = part_names(name, size, limit), part_sizes(size, limit)
    if [size_on(folder, n) for n in names] == sizes:
        parts = source_parts(handle, size, name, limit)
        if holds(folder, parts):
            if progress:
                progress(size)
            return parts, True
    return copy_parts(handle, size, folder, name, limit, progress), False


def join_failures():
    """What a clip joiner raises for a clip it cannot make from the recordings: its own
    one-line errors, OSError, ValueError and PyAV's errors about the media it reads."""
    av_error = getattr(sys.modules.get("av.error"), "FFmpegError", None)
    return (DashcamError, OSError, ValueError) + ((av_error,) if av_error else ())


def join(item, write_clip, snapshot_path, recordings, scratch):
    """Join ``item``'s clip into a file in ``scratch`` (a private local folder); its path.
    Skipped when the recordings cannot make it; ExportError when ``scratch`` has no room."""
    out = os.path.join(scratch, f"event-{item.event_id:06d}.mp4")
    free = free_bytes(scratch)
    if free < item.bytes * 1.01 + 16 * 1024 * 1024:
        raise ExportError("no room in {} to join the clip of event {} ({} needed, {} free): "
                          "free some space there, or point TMPDIR at a folder with room".format(
                              scratch, item.event_id, human_bytes(item.bytes), human_bytes(free)))
    try:
        with StoreReader(snapshot_path) as reader:
            write_clip(reader, item.event_id, out, recordings.path)
    except join_failures() as error:
        if os.path.exists(out):
            os.unlink(out)
        if isinstance(error, OSError) and no_space(error):
            raise ExportError(f"no room in {scratch} to join the clip of event "
                              f"{item.event_id} ({error.strerror}): free some space there")
        raise Skipped("event {}: no clip ({})".format(item.event_id, str(error).strip()
                                                       or type(error).__name__))
    return out


def put(root, item, write_clip, snapshot_path, recordings, scratch, limit, progress):
    """Write ``item`` under ``root`` (the stick's dashcam folder) or find it there; returns
    ``([(name under root, sha256, bytes)], reused)``."""
    written, reused = [], True
    for folder_name, name, source in targets(item):
        joined = None
        if source is None:
            joined = join(item, write_clip, snapshot_path, recordings, scratch)
            handle = open(joined, "rb")
        else:
            try:
                handle = open_beneath(recordings, source[0])
            except Refused as error:
                raise Skipped(f"event {item.event_id}: not exported: {error}")
        try:
            with handle, root.descend(folder_name.split("/"), create=True) as holder:
                parts, there = place(handle, os.fstat(handle.fileno()).st_size, holder, name,
                                     limit, progress)
        finally:
            if joined:
                os.unlink(joined)
        written += [(folder_name + "/" + n, sha, size) for n, sha, size in parts]
        reused = reused and there
    return written, reused


def clip_writer():
    """The recording feature's ``write_clip``, or None where this build has no recording."""
    try:
        from dashcam.recording import write_clip
    except ImportError:
        return None
    return write_clip


def export_evidence(root, items, snapshot_path, recordings, write_clip, scratch, limit,
                    progress, done):
    """Put every item under ``root`` (the stick's dashcam folder), reusing what the stick
    holds already. ``done`` (a list) gets each item as it is complete on the stick. Returns
    ``(files, skipped, notes)``: ``files`` maps item to ``[(name under root, sha256, bytes)]``."""
    files, skipped, notes = OrderedDict(), 0, []
    for item in items:
        try:
            written, reused = put(root, item, write_clip, snapshot_path, recordings, scratch,
                                  limit, progress)
        except Skipped as error:
            notes.append(str(error))
            continue
        files[item] = written
        skipped += reused
        done.append(item)
    return files, skipped, notes
