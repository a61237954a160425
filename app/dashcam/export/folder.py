"""One export: a dated folder on the stick that is complete, or is not there at all.

Layout, under ``DEST/dashcam-<host>/`` (one per box, so that sticks can
travel between vehicles)::

    2024-05-01T12-30-00Z/        this export (UTC), renamed from a hidden .partial folder when done
        dashcam.db               the store snapshot (dashcam.db.000, .001... on FAT32 past 4 GiB)
        events.csv events.jsonl  events, with where each one's clip and snapshot are
        alerts.csv alerts.jsonl  alerts
        SUMMARY.txt              what is here, in a few lines
        MANIFEST.sha256          `sha256sum -c MANIFEST.sha256` (in this folder) checks it all
    clips/ snapshots/            evidence, shared by the exports that list it (../clips/...)

Nothing else is needed to read it: SQLite, a spreadsheet, a video player.
"""

import fcntl
import logging
import os
import shutil
import socket
import time
from collections import namedtuple

from dashcam import __version__
from dashcam.errors import DashcamError
from dashcam.export import evidence, tables
from dashcam.export.files import (ExportError, HashingWriter, check_space, copy_parts, fsync_dir,
                                  human_bytes, max_file_bytes, no_space, partial_name,
                                  remove_partials, sha256_file)
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
    filesystem, FAT32 4 GiB - 1). Returns a ``Result``; raises ``ExportError``.
    """
    if not os.path.isdir(dest):
        raise ExportError("{} is not a folder: give the stick's mount point or its device "
                          "(/dev/sdb1)".format(dest))
    check_window(db_path, since, until)
    now = time.time() if now is None else now
    root = os.path.join(dest, "dashcam-" + safe_name(host or socket.gethostname()))
    try:
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, ".lock"), "a") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ExportError(f"another export to {root} is running: wait for it")
            for folder in (root, os.path.join(root, "clips"), os.path.join(root, "snapshots")):
                if os.path.isdir(folder):
                    for path in remove_partials(folder):
                        log.info("removed %s, left by an export that did not finish", path)
            name = stamp(now)
            while os.path.exists(os.path.join(root, name)):
                name += "+"
            work = partial_name(os.path.join(root, name))
            os.mkdir(work)
            try:
                result = _export(root, work, name, db_path, recordings_dir, since, until,
                                 with_clips, write_clip, progress, now,
                                 max_file_bytes(root) if limit is UNSET else limit)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
            os.rename(work, os.path.join(root, name))
            fsync_dir(root)
    except OSError as error:
        if isinstance(error, DashcamError):
            raise
        raise ExportError(write_failure(dest, error))
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


def write_failure(dest, error):
    """What to tell when writing to the stick failed with ``error`` (an OSError)."""
    if no_space(error):
        return ("the stick at {} is full or takes no file this big ({}): nothing was exported; "
                "use a bigger stick or export less with --since/--until".format(
                    dest, error.strerror))
    return "writing to {} failed ({}): nothing was exported; was the stick pulled out?".format(
        dest, error.strerror or error)


def _export(root, work, name, db_path, recordings_dir, since, until, with_clips, write_clip,
            progress, now, limit):
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
    else:
        snapshot = os.path.join(work, DB_NAME)
    if os.path.exists(snapshot):
        os.unlink(snapshot)
    manifest = []
    try:
        info = take_snapshot(db_path, snapshot, since, until)
        verdict = check_snapshot(snapshot)
        if verdict != "ok":
            raise ExportError("the store snapshot is not sound ({}): run `dashcam doctor`"
                              .format(verdict))
        meter.add(os.path.getsize(snapshot))
        if write_clip is None and with_clips:
            write_clip = evidence.clip_writer()
            if write_clip is None:
                notes.append("clips need the recording feature, which this build does not "
                             "have: exported without clips")
        with StoreReader(snapshot) as reader:
            recordings = recordings_dir or recordings_beside(db_path)
            items, missing = evidence.plan(reader.conn, recordings,
                                           with_clips and write_clip is not None, limit)
        notes += missing
        meter.total += sum(i.bytes for i in items)
        check_space(root, sum(i.bytes for i in items), "clips and snapshots")
        meter.step("clips and snapshots")
        files, skipped, clip_notes = evidence.export_evidence(root, items, snapshot, recordings,
                                                              write_clip, limit, meter.add)
        notes += clip_notes
        extra = _evidence_columns(files)
        meter.step("events and alerts")
        with StoreReader(snapshot) as reader:
            counts = {}
            for table in ("events", "alerts"):
                if has_table(reader.conn, table):
                    counts[table], written = tables.write_table(
                        reader.conn, table, os.path.join(work, table + ".csv"),
                        os.path.join(work, table + ".jsonl"), extra if table == "events" else None,
                        ("clip_file", "snapshot_file") if table == "events" else ())
                    manifest += written
            types = event_type_counts(reader.conn)
        if local:
            manifest += copy_parts(snapshot, os.path.join(work, DB_NAME), limit, meter.add)
        else:
            manifest.append((snapshot, sha256_file(snapshot), os.path.getsize(snapshot)))
    finally:
        if local and os.path.exists(snapshot):
            os.unlink(snapshot)
    for paths in files.values():
        manifest += [(os.path.join(root, p), sha, size) for p, sha, size in paths]
    clips = sum(1 for i in files if i.kind != "snapshot")
    shots = sum(1 for i in files if i.kind == "snapshot")
    listed = sum(size for _, _, size in manifest)
    summary = summary_text(name, os.path.basename(root)[len("dashcam-"):], now, since, until,
                           info, counts, types, clips if with_clips else None, shots, skipped,
                           manifest, notes)
    with HashingWriter(os.path.join(work, "SUMMARY.txt")) as out:
        out.write(summary.encode("utf-8"))
        out.commit()
    manifest.append((out.path, out.sha256, out.bytes))
    with HashingWriter(os.path.join(work, "MANIFEST.sha256")) as out:
        for path, sha, _ in manifest:
            relative = os.path.relpath(path, work) if path.startswith(work) else \
                os.path.join("..", os.path.relpath(path, root))
            out.write("{}  {}\n".format(sha, relative.replace(os.sep, "/")).encode("utf-8"))
        out.commit()
    return Result(os.path.join(root, name), len(manifest) + 1, listed, skipped, clips, shots,
                  notes, summary)


def _evidence_columns(files):
    """events.csv's extra columns: where each event's clip and snapshot are, from its folder."""
    extra = {}
    for item in files:
        column = "snapshot_file" if item.kind == "snapshot" else "clip_file"
        where = item.name + ("/" if item.kind == "segments" else "")
        extra.setdefault(item.event_id, {})[column] = "../" + where
    return extra


def summary_text(name, host, now, since, until, info, counts, types, clips, shots, skipped,
                 manifest, notes):
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
        "Alerts: {}".format(counts.get("alerts", 0)),
        "Clips: {}, snapshots: {} ({} of them already on this stick, unchanged, not copied "
        "again)".format("not asked for (--with-clips)" if clips is None else clips, shots,
                        skipped),
        f"Size: {human_bytes(sum(s for _, _, s in manifest))} in {len(manifest)} files",
    ]
    if any(p.endswith(".000") for p, _, _ in manifest):
        lines.append("The snapshot is in parts (the stick's 4 GiB file limit): "
                     "cat dashcam.db.0* > dashcam.db")
    lines += ["Note: " + note for note in notes]
    lines.append("Check it: in this folder, sha256sum -c MANIFEST.sha256")
    return "\n".join(lines) + "\n"
