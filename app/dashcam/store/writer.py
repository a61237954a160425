"""The store's writer: one SQLite file that survives power cuts, one writer, many readers.

Writes go through ``EventStore.write``: one explicit transaction per batch, so
a batch is all on disk or none of it. Each record type is written by the kind
writer registered for it (``register``; the store's own are in ``kinds``), so
a stage with new records (segments, clip links, alert deliveries) adds a
writer and a schema version, and this module does not change. sqlite-utils
serves the read side; it is not used for writes because its insert methods
commit on every call, which would split a batch.
"""

import fcntl
import itertools
import json
import logging
import os
import sqlite3

import sqlite_utils

from dashcam import events as ev
from dashcam.errors import StoreError
from dashcam.records import FrameRecord, StatsRecord
from dashcam.store.kinds import Batch, FrameRows, insert_event, write_events, write_stats
from dashcam.store.maintenance import integrity_check
from dashcam.store.schema import connect, migrate, schema_version
from dashcam.timestamps import iso_utc, parse_iso

log = logging.getLogger(__name__)


# synchronous: FULL. In WAL mode FULL syncs the WAL at every commit, NORMAL
# only at checkpoints. Both keep the file uncorrupted through a power cut,
# but with NORMAL the transactions since the last checkpoint (up to ~1000
# pages, many seconds of detections) roll back, and on a dashcam the seconds
# before the power went (the collision) are the evidence. Commits come in
# batches (at most one per drained queue, at least one a second), so FULL costs
# one sequential WAL sync per batch.
SYNCHRONOUS = ("full", "normal")


class EventStore:
    """The writer's handle on the store file at ``path`` (created with its folder).

    Opens in WAL mode with ``synchronous`` (``"full"``, the default; see
    ``SYNCHRONOUS``) and brings the schema to ``LATEST_VERSION``. It holds a lock
    file beside the store while open, so a second writer (another ``dashcam run``
    on the same file) is refused instead of interleaving with this one; readers
    use ``StoreReader`` on their own connections. ``detections`` and
    ``sample_interval`` are ``[store]``'s: which frames keep detection rows.
    """

    def __init__(self, path, synchronous="full", detections="all", sample_interval=1.0):
        if synchronous not in SYNCHRONOUS:
            raise StoreError("synchronous must be one of {}, not {!r}".format(
                "|".join(SYNCHRONOUS), synchronous))
        self.path = path
        self._writers = {}
        folder = os.path.dirname(os.path.abspath(path))
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder)
        except OSError as error:
            raise StoreError("cannot open store {}: {} (check the folder exists and is "
                             "writable, or pass another --db)".format(path, error))
        self._lock = _take_lock(path)
        try:
            self.conn = connect(path)
            mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                # WAL needs shared memory beside the file; some network file
                # systems refuse it. Rollback journal still keeps the file safe.
                log.warning("store %s: journal_mode is %s, not wal (file system without "
                            "shared memory?); readers will block the writer", path, mode)
            self.conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # After a checkpoint the WAL file is truncated to this size instead of
            # staying at its largest: 4 MiB keeps flash writes and disk use small.
            self.conn.execute(f"PRAGMA journal_size_limit={4 * 1024 * 1024:d}")
            migrate(self.conn)
        except (OSError, sqlite3.Error) as error:
            self._lock.close()
            raise StoreError("cannot use store {}: {} (check the folder is writable and the "
                             "file is a dashcam store, or pass another --db)".format(path, error))
        except BaseException:
            self._lock.close()
            raise
        self.db = sqlite_utils.Database(self.conn)
        self._closed = False
        self.register(ev.Event, write_events)
        self.register(FrameRecord, FrameRows(detections, sample_interval))
        self.register(StatsRecord, write_stats)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if not self._closed:
            self._closed = True
            self.conn.close()
            self._lock.close()

    @property
    def schema_version(self):
        return schema_version(self.conn)

    def register(self, record_type, write):
        """Write records of ``record_type`` with ``write(batch, run_id, records)`` (see ``kinds``)."""
        self._writers[record_type] = write

    def accepts(self, record):
        return type(record) in self._writers

    def write(self, run_id, records):
        """Write ``records`` in one transaction, in order; returns the ``kinds.Batch``.

        Consecutive records of one type go to their writer together (one
        ``executemany`` for many frames' detections). A type with no writer
        raises TypeError before anything is written.
        """
        groups = [(kind, list(group)) for kind, group in itertools.groupby(records, type)]
        for kind, _ in groups:
            if kind not in self._writers:
                raise TypeError(f"the store has no writer for {kind!r}")
        batch = Batch(self.conn)
        with self._transaction():
            for kind, group in groups:
                self._writers[kind](batch, run_id, group)
        return batch

    def begin_run(self, started_at, version, config=None, model=None, backend=None,
                  precision=None, source=None, backend_reason=None):
        """A new ``runs`` row; returns its id. ``started_at`` in UTC epoch seconds."""
        with self._transaction():
            cursor = self.conn.execute(
                "INSERT INTO runs (started_at, version, config, model, backend, precision,"
                " source, backend_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (iso_utc(started_at), version, config, model, backend, precision, source,
                 backend_reason))
        return cursor.lastrowid

    def end_run(self, run_id, ended_at, summary=None):
        with self._transaction():
            self.conn.execute("UPDATE runs SET ended_at = ?, summary = ? WHERE id = ?",
                              (iso_utc(ended_at), json.dumps(summary, sort_keys=True)
                               if summary is not None else None, run_id))

    def close_interrupted_runs(self):
        """Close the runs that a crash, kill or power cut left open; returns their ids.

        Each is ended at its last committed row, its summary says ``crashed``,
        and a ``run_interrupted`` event records it. Only safe because this
        handle holds the store's lock: no other writer's run is in progress.
        """
        closed = []
        open_runs = self.conn.execute(
            "SELECT id, started_at FROM runs WHERE ended_at IS NULL ORDER BY id").fetchall()
        for run_id, started_at in open_runs:
            ended_at = max([started_at] + [t for t in self._last_rows(run_id) if t])
            with self._transaction():
                self.conn.execute("UPDATE runs SET ended_at = ?, summary = ? WHERE id = ?",
                                  (ended_at, json.dumps({"crashed": True, "run_id": run_id}),
                                   run_id))
                insert_event(Batch(self.conn), run_id, ev.run_interrupted(parse_iso(ended_at), run_id))
            log.warning("run %d had no orderly stop (crash, kill or power cut): closed at %s, "
                        "its last committed row", run_id, ended_at)
            closed.append(run_id)
        return closed

    def _last_rows(self, run_id):
        """The latest time each table holds for ``run_id`` (ISO text, None when empty)."""
        one = self.conn.execute
        # detections: walk back from the newest row (ids grow with time, and
        # the open run is nearly always the last), not over the whole run.
        newest = one("SELECT ts FROM detections WHERE run_id = ? ORDER BY id DESC LIMIT 1",
                     (run_id,)).fetchone()
        events = one("SELECT max(ts_start), max(ts_end) FROM events WHERE run_id = ?",
                     (run_id,)).fetchone()
        return [newest[0] if newest else None, events[0], events[1],
                one("SELECT max(last_seen) FROM tracks WHERE run_id = ?", (run_id,)).fetchone()[0],
                one("SELECT max(ts) FROM stats WHERE run_id = ?", (run_id,)).fetchone()[0]]

    def _transaction(self):
        return _Transaction(self.conn)

    def integrity_check(self):
        return integrity_check(self.conn)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error (the writer takes the lock up front)."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _take_lock(path):
    """An exclusive lock on ``path + ".lock"``, held while the returned file is open."""
    lock_path = path + ".lock"
    try:
        handle = open(lock_path, "a+")
    except OSError as error:
        raise StoreError("cannot open store {}: {} (check the folder is writable, or pass "
                         "another --db)".format(path, error.strerror or error))
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise StoreError("store {} is in use by another dashcam process (pid {}): stop it "
                         "(`sudo systemctl stop dashcam`) or pass another --db".format(path, holder))
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
