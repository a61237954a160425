"""One export: a dated folder on the stick that is complete, or is not there at all.

Layout, under ``DEST/dashcam-<host>/`` (one per box, so that sticks can
travel between vehicles)::

    2024-05-01T12-30-00Z/        this export (UTC), renamed from a hidden .partial folder when done
        dashcam.db               the store snapshot (dashcam.db.000, .001... on FAT32 past 4 GiB)
        events.csv events.jsonl  events, with where each one's clip and snapshot are
        track.gpx gps-raw.log    the GPS track and the receiver's own lines (with a GPS)
        alerts.csv alerts.jsonl  alerts
        SUMMARY.txt              what is here, in a few lines
        MANIFEST.sha256          `sha256sum -c MANIFEST.sha256` (in this folder) checks it all
    clips/ snapshots/            evidence, shared by the exports that list it (../clips/...)

Nothing else is needed to read it: SQLite, a spreadsheet, a video player.
"""

import contextlib
import fcntl
import logging
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections import namedtuple

from dashcam import __version__
from dashcam.errors import DashcamError
from dashcam.export import evidence, tables
from dashcam.export.files import (ExportError, HashingWriter, check_space, copy_parts,
                                  human_bytes, max_file_bytes, no_space, partial_name,
                                  read_hash, remove_partials)
from dashcam.export.stick import Folder
from dashcam.export.track import write_track
from dashcam.paths import DB_NAME, recordings_beside
from dashcam.store import StoreReader, check_snapshot, event_type_counts, has_table, take_snapshot
from dashcam.timestamps import iso_utc

log = logging.getLogger(__name__)

# What an export holds: its folder, the files and bytes its manifest lists (the
# evidence it skipped included), how many it skipped, clips and snapshots, notes.
Result = namedtuple("Result", "folder files bytes skipped clips snapshots notes summary")
UNSET = object()


def stamp(t_utc):
    """The folder name for an export at ``t_utc``: ISO-8601 UTC with '-' for ':' (FAT has no ':')."""
    return time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(t_utc))


def safe_name(text):
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text) or "dashcam"


def host_folder(host=None):
    """The stick's folder for this box: ``dashcam-<host>``."""
    return "dashcam-" + safe_name(host or socket.gethostname())


def checked_dest(dest, cwd=None):
    """``dest`` as the absolute path of the folder it names; ExportError when it is not a folder
    or climbs above / (more ``..`` than the folders above it: a typo, not a stick)."""
    absolute = os.path.join(cwd or os.getcwd(), dest)
    depth = 0
    for name in absolute.split("/"):
        depth += -1 if name == ".." else int(name not in ("", "."))
        if depth < 0:
            raise ExportError("{} climbs above / (more '..' than folders above it): give the "
                              "stick's mount point or its device (/dev/sdb1)".format(dest))
    if not os.path.isdir(absolute):
        raise ExportError("{} is not a folder: give the stick's mount point or its device "
                          "(/dev/sdb1)".format(dest))
    return os.path.realpath(absolute)


class Meter:
    """Counts the bytes an export has written against ``total``, for ``progress(done, total, what)``."""

    def __init__(self, total, progress=None):
        self.total, self.done, self.what, self.progress = total, 0, "", progress

    def step(self, what):
        self.what = what
        self.add(0)

    def add(self, count):
        self.done += count
        if self.progress:
            self.progress(self.done, max(self.total, self.done), self.what)


def write_export(dest, db_path, recordings_dir=None, since=None, until=None, with_clips=False,
                 write_clip=None, progress=None, host=None, now=None, limit=UNSET):
    """Export the store at ``db_path`` (and its evidence in ``recordings_dir``, by default
    ``recordings/`` beside the store) into ``dest``.

    ``since``/``until``: UTC epoch seconds. ``write_clip``: the recording
    feature's clip joiner (found when None; without it clips are noted as
    unavailable). ``progress(done_bytes, total_bytes, what)`` is called as it
    goes. ``limit``: the largest file the stick takes (default: found from its
    filesystem, FAT32 4 GiB - 1). No link on the stick is followed. Returns a
    ``Result``; raises ``ExportError`` (``stick.Refused`` for a link).
    """
    dest = checked_dest(dest)
    check_window(db_path, since, until)
    now = time.time() if now is None else now
    done = []   # the evidence complete on the stick, for the message if the export fails
    try:
        with Folder.open(dest) as top, top.folder(host_folder(host), create=True) as root:
            lock = root.lock_file(".lock")
            try:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise ExportError(f"another export to {root.path} is running: wait for it")
                result = _locked(root, db_path, recordings_dir, since, until, with_clips,
                                 write_clip, progress, now, limit, done)
            finally:
                os.close(lock)
    except OSError as error:
        if isinstance(error, DashcamError):
            raise
        raise ExportError(write_failure(dest, error, len(done)))
    return result


def check_window(db_path, since, until):
    """An ``ExportError`` for a window (UTC epoch seconds) that ends before it starts, or
    that holds no event, alert or video: an export of it would be empty."""
    if since is None and until is None:
        return
    if since is not None and until is not None and until <= since:
        raise ExportError("--until {} is not after --since {}: the window is empty; give an "
                          "--until after --since".format(iso_utc(until), iso_utc(since)))
    with StoreReader(db_path) as reader:
        if any(reader.in_range(since, until).values()):
            return
        first, last = reader.event_span()
    raise ExportError("no events, alerts or video {} in {}: it holds {}; widen --since/--until"
                      .format(window_text(since, until, "now"), db_path,
                              "no events" if first is None else f"events from {first} to {last}"))


def window_text(since, until, end):
    """``from <since> to <until>``, with "the start" and ``end`` for open ends."""
    return "from {} to {}".format(iso_utc(since) if since is not None else "the start",
                                  iso_utc(until) if until is not None else end)


def _locked(root, db_path, recordings_dir, since, until, with_clips, write_clip, progress, now,
            limit, done):
    """The export, once ``root`` (the stick's dashcam folder) is locked."""
    removed = remove_partials(root)
    for name in ("clips", "snapshots"):
        if root.kind(name) is not None:
            with root.folder(name) as folder:
                removed += remove_partials(folder)
    for path in removed:
        log.info("removed %s, left by an export that did not finish", path)
    name = stamp(now)
    while root.kind(name) is not None or root.kind(partial_name(name)) is not None:
        name += "+"
    work_name = partial_name(name)
    with root.new_folder(work_name) as work:
        try:
            result = _export(root, work, name, db_path, recordings_dir, since, until,
                             with_clips, write_clip, progress, now,
                             max_file_bytes(root.path) if limit is UNSET else limit, done)
        except BaseException:
            try:
                root.remove_files_folder(work_name)
            except OSError:
                pass   # a pulled stick: the next export removes it
            raise
    root.rename(work_name, name)
    root.sync()
    return result


def write_failure(dest, error, kept=0):
    """What to tell when writing to the stick failed with ``error`` (an OSError), ``kept`` pieces
    of evidence being complete on it by then."""
    outcome = "nothing was exported" if not kept else (
        "the export is not complete; the {} clips and snapshots complete on it stay, and the "
        "next export reuses them".format(kept))
    if no_space(error):
        return ("the stick at {} is full or takes no file this big ({}): {}; free some space, "
                "use a bigger stick, or export less with --since/--until".format(
                    dest, error.strerror, outcome))
    return "writing to {} failed ({}): {}; was the stick pulled out?".format(
        dest, error.strerror or error, outcome)


def _export(root, work, name, db_path, recordings_dir, since, until, with_clips, write_clip,
            progress, now, limit, done):
    notes = []
    store_bytes = sum(os.path.getsize(p) for p in (db_path, db_path + "-wal") if os.path.exists(p))
    meter = Meter(store_bytes, progress)
    meter.step("store snapshot")
    # Past the stick's file limit the snapshot is made beside the store and copied in parts.
    local = limit is not None and store_bytes > limit
    check_space(root, store_bytes, "the store snapshot")
    if local:
        check_space(os.path.dirname(os.path.abspath(db_path)), store_bytes,
                    "the store snapshot beside the store")
        snapshot = os.path.join(os.path.dirname(os.path.abspath(db_path)),
                                ".export-" + name + ".db")
        if os.path.exists(snapshot):
            os.unlink(snapshot)
    else:
        # SQLite opens by path: the folder this export made, below the one held open.
        snapshot = work.where(DB_NAME)
    if write_clip is None and with_clips:
        write_clip = evidence.clip_writer()
        if write_clip is None:
            notes.append("clips need the recording feature, which this build does not "
                         "have: exported without clips")
    joins = with_clips and write_clip is not None
    recordings = recordings_dir or recordings_beside(db_path)
    scratch = tempfile.mkdtemp(prefix="dashcam-export-") if joins else None
    manifest = []
    try:
        try:
            info = take_snapshot(db_path, snapshot, since, until)
        except sqlite3.DatabaseError as error:   # SQLite's own words for a full or lost stick
            raise ExportError("cannot take the store snapshot into {} ({}): nothing was "
                              "exported; free some space there, or check the store with "
                              "`dashcam doctor`".format(os.path.dirname(snapshot), error))
        verdict = check_snapshot(snapshot)
        if verdict != "ok":
            raise ExportError("the store snapshot is not sound ({}): run `dashcam doctor`"
                              .format(verdict))
        meter.add(os.path.getsize(snapshot))
        with open_recordings(recordings) as folder, StoreReader(snapshot) as reader:
            items, missing = evidence.plan(reader.conn, folder, joins, limit)
            notes += missing
            meter.total += sum(i.bytes for i in items)
            check_space(root, evidence.missing_bytes(root, items, limit), "clips and snapshots")
            meter.step("clips and snapshots")
            files, skipped, clip_notes = evidence.export_evidence(
                root, items, snapshot, folder, write_clip, scratch, limit, meter.add, done)
        notes += clip_notes
        extra = _evidence_columns(files)
        meter.step("events and alerts")
        with StoreReader(snapshot) as reader:
            counts = {}
            for table in ("events", "alerts"):
                if has_table(reader.conn, table):
                    counts[table], written = tables.write_table(
                        reader.conn, table, work, extra if table == "events" else None,
                        ("clip_file", "snapshot_file") if table == "events" else ())
                    manifest += written
            types = event_type_counts(reader.conn)
            written, gps_line = write_track(work, reader, db_path, since, until)
            manifest += written
            gps_lines = [gps_line]
        size = os.path.getsize(snapshot)
        with open(snapshot, "rb") if local else work.reader(DB_NAME) as handle:
            if local:
                manifest += copy_parts(handle, size, work, DB_NAME, limit, meter.add)
            else:
                manifest.append((DB_NAME, read_hash(handle, size), size))
    finally:
        if local and os.path.exists(snapshot):
            os.unlink(snapshot)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    for paths in files.values():
        manifest += [("../" + p, sha, size) for p, sha, size in paths]
    clips = sum(1 for i in files if i.kind != "snapshot")
    shots = sum(1 for i in files if i.kind == "snapshot")
    listed = sum(size for _, _, size in manifest)
    summary = summary_text(name, os.path.basename(root.path)[len("dashcam-"):], now, since, until,
                           info, counts, types, clips if with_clips else None, shots, skipped,
                           manifest, notes, gps_lines)
    with HashingWriter(work, "SUMMARY.txt") as out:
        out.write(summary.encode("utf-8"))
        out.commit()
    manifest.append((out.name, out.sha256, out.bytes))
    with HashingWriter(work, "MANIFEST.sha256") as out:
        for path, sha, _ in manifest:
            out.write("{}  {}\n".format(sha, path).encode("utf-8"))
        out.commit()
    return Result(os.path.join(root.path, name), len(manifest) + 1, listed, skipped, clips,
                  shots, notes, summary)


@contextlib.contextmanager
def open_recordings(path):
    """The recordings folder held open, or None where there is none (every file it would
    hold is then noted as missing)."""
    try:
        folder = Folder.open(path)
    except (FileNotFoundError, NotADirectoryError):
        yield None
        return
    with folder:
        yield folder


def _evidence_columns(files):
    """events.csv's extra columns: where each event's clip and snapshot are, from its folder."""
    extra = {}
    for item in files:
        column = "snapshot_file" if item.kind == "snapshot" else "clip_file"
        where = item.name + ("/" if item.kind == "segments" else "")
        extra.setdefault(item.event_id, {})[column] = "../" + where
    return extra


def summary_text(name, host, now, since, until, info, counts, types, clips, shots, skipped,
                 manifest, notes, extra=()):
    """SUMMARY.txt: a few lines a person reads first. ``clips`` None: not asked for."""
    window = "everything in the store" if since is None and until is None else \
        "events " + window_text(since, until, "the export")
    rows = ", ".join(f"{t} {n}" for t, n in sorted(info["rows"].items()))
    lines = [
        "Dashcam export {} from {} (dashcam {}, {})".format(name, host, __version__,
                                                            iso_utc(now)),
        "Window: " + window,
        "Store snapshot: dashcam.db, schema version {}; rows: {}".format(
            info["schema_version"], rows),
        "Events: {} ({})".format(counts.get("events", 0), ", ".join(
            f"{t} {n}" for t, n in sorted(types.items())) or "none"),
        "Alert deliveries: {} (a row per alert and sink in alerts.csv; the alerts are the "
        "events of type alert)".format(counts.get("alerts", 0)),
        "Clips: {}, snapshots: {} ({} of them already on this stick, unchanged, not copied "
        "again)".format("not asked for (--with-clips)" if clips is None else clips, shots,
                        skipped),
    ] + list(extra) + [
        f"Size: {human_bytes(sum(s for _, _, s in manifest))} in {len(manifest)} files",
    ]
    if any(p.endswith(".000") for p, _, _ in manifest):
        lines.append("The snapshot is in parts (the stick's 4 GiB file limit): "
                     "cat dashcam.db.0* > dashcam.db")
    lines += ["Note: " + note for note in notes]
    lines.append("Check it: in this folder, sha256sum -c MANIFEST.sha256")
    return "\n".join(lines) + "\n"
