"""The store's writer: one SQLite file that survives power cuts, one writer, many readers.

Writes go through ``EventStore.write``: one explicit transaction per batch, so
a batch is all on disk or none of it. Each record type is written by the kind
writer registered for it (``register``; the store's own are in ``kinds``), so
a stage with new records (segments, clip links, alert deliveries) adds a
writer and a schema version, and this module does not change. sqlite-utils
serves the read side; it is not used for writes because its insert methods
commit on every call, which would split a batch.

A full volume is the writer's to ride out (``room``): a bounded WAL, a
reserve given back when a write is refused (``reclaim``), the records that
make room written first (``by_priority``). A run's row is a record too
(``new_run``), so a store that takes nothing at the start stops nothing.
"""

import fcntl
import itertools
import logging
import os
import sqlite3

import sqlite_utils

from dashcam import events as ev
from dashcam.errors import StoreError
from dashcam.records import FrameRecord, StatsRecord
from dashcam.store.held import Detections, by_priority
from dashcam.store.kinds import Batch, FrameRows, write_events, write_stats
from dashcam.store.maintenance import free_page_bytes, integrity_check, prune_detections
from dashcam.store.room import Reserve, file_size, is_full, volume, wal_limit
from dashcam.store.runs import RunBegun, end_run, next_run_id, write_runs_begun
from dashcam.store.schema import BUSY_TIMEOUT_MS, connect, migrate, schema_version
from dashcam.worker import Throttled

log = logging.getLogger(__name__)


# synchronous: FULL. In WAL mode FULL syncs the WAL at every commit, NORMAL
# only at checkpoints. Both keep the file uncorrupted through a power cut,
# but with NORMAL the transactions since the last checkpoint (up to
# ``room.wal_limit``, many seconds of detections) roll back, and on a dashcam
# the seconds before the power went (the collision) are the evidence. Commits come in
# batches (at most one per drained queue, at least one a second), so FULL costs
# one sequential WAL sync per batch.
SYNCHRONOUS = ("full", "normal")
RECLAIM_WAIT_MS = 200
# A run's end (its row's end time and summary) must land even when the volume is full at
# the stop, after retention has stopped pruning for it: a small reserve of its own, given
# back only for that write (a few pages of WAL and the summary).
END_RESERVE_BYTES = 64 * 1024


class EventStore:
    """The writer's handle on the store file at ``path`` (created with its folder).

    Opens in WAL mode with ``synchronous`` (``"full"``, the default; see
    ``SYNCHRONOUS``) and brings the schema to ``LATEST_VERSION``. It holds a lock
    file beside the store while open, so a second writer (another ``dashcam run``
    on the same file) is refused instead of interleaving with this one; readers
    use ``StoreReader`` on their own connections. ``detections`` and
    ``sample_interval`` are ``[store]``'s: which frames keep detection rows.
    The WAL is bounded, and a reserve file kept, by the volume's size (``room``);
    ``room_bytes`` is what the volume should keep for the store.
    """

    def __init__(self, path, synchronous="full", detections="all", sample_interval=1.0):
        if synchronous not in SYNCHRONOUS:
            raise StoreError("synchronous must be one of {}, not {!r}".format(
                "|".join(SYNCHRONOUS), synchronous))
        self.path = path
        self._writers, self._makes_room, self._when_short, self._low = {}, set(), [], False
        self._observers = []
        self._report = Throttled(log)
        folder = os.path.dirname(os.path.abspath(path))
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder)
        except OSError as error:
            raise StoreError("cannot open store {}: {} (check the folder exists and is "
                             "writable, or pass another --db)".format(path, error))
        _refuse_empty(path)
        self._lock = _take_lock(path)
        total, free = volume(path)
        self.wal_bytes = wal_limit(total)
        # what the volume should keep for the store: the WAL's bound, and as much for the
        # evidence (and a reserve given back to be taken again); retention prunes under it
        self.room_bytes = 2 * self.wal_bytes
        self.reserve = Reserve(path + ".reserve", self.wal_bytes)
        self.end_reserve = Reserve(path + ".reserve-end", END_RESERVE_BYTES)
        if free < self.wal_bytes:   # room for -shm and the first commits on a full volume
            self.reserve.release()
            self.end_reserve.release()
        created = not os.path.exists(path)
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
            # Checkpoint (PASSIVE, at commit) once the WAL holds wal_bytes, and cut it
            # back to that size when it restarts, instead of SQLite's 1000 pages and a
            # WAL that stays at its largest: the volume must hold both files (``room``).
            page = self.conn.execute("PRAGMA page_size").fetchone()[0]
            self.conn.execute(f"PRAGMA wal_autocheckpoint={max(1, self.wal_bytes // page):d}")
            self.conn.execute(f"PRAGMA journal_size_limit={self.wal_bytes:d}")
            migrate(self.conn)
        except (OSError, sqlite3.Error) as error:
            self._give_up(path, created)
            raise StoreError("cannot use store {}: {} (check the folder is writable and has "
                             "room, and the file is a dashcam store, or pass another --db)"
                             .format(path, error))
        except BaseException:
            self._give_up(path, created)
            raise
        if self.reserve.keep():   # the end's reserve only beside the main one
            self.end_reserve.keep()
        self.db = sqlite_utils.Database(self.conn)
        self._closed = False
        self.register(RunBegun, write_runs_begun)
        self.register(ev.Event, write_events)
        rows = FrameRows(detections, sample_interval)
        self.register(FrameRecord, rows)
        self.register(Detections, rows)
        self.register(StatsRecord, write_stats)

    def _give_up(self, path, created):
        """Undo an open that failed: the lock, and a file this open created empty."""
        if getattr(self, "conn", None) is not None:
            self.conn.close()
        if created and file_size(path) == 0:
            for leftover in (path, path + "-wal", path + "-shm"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        self._lock.close()

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

    def register(self, record_type, write, makes_room=False):
        """Write records of ``record_type`` with ``write(batch, run_id, records)`` (see ``kinds``).
        ``makes_room``: they free space (pruning, deletions), so a full volume takes them first."""
        self._writers[record_type] = write
        if makes_room:
            self._makes_room.add(record_type)

    def observe(self, observer):
        """Call ``observer(batch, run_id)`` inside every write's transaction, after the kind
        writers: it may add rows for ``batch.events`` (the fleet's outbox), committed with
        them or not at all."""
        self._observers.append(observer)

    def accepts(self, record):
        return type(record) in self._writers

    def by_priority(self, records):
        """``(room, evidence, bulk)``: a refused batch in the order to write it (``held``)."""
        return by_priority(records, lambda record: type(record) in self._makes_room)

    def when_short(self, callback):
        """Call ``callback()`` (on the writer's thread) when the volume's room for the store
        falls under ``room_bytes`` or a write is refused: retention wakes to prune."""
        self._when_short.append(callback)

    def short_of_room(self):
        """Whether detection rows must wait: the volume keeps less than ``wal_bytes`` for the
        store (its free bytes and the file's free pages), what is left being the evidence's.
        Under ``room_bytes`` the ``when_short`` callbacks are called first."""
        free = volume(self.path)[1]
        room = free if free >= self.room_bytes else free + free_page_bytes(self.conn)
        low = room < self.room_bytes
        if low and not self._low:
            for callback in self._when_short:
                callback()
        self._low = low
        return room < self.wal_bytes

    def write(self, run_id, records, position=None):
        """Write ``records`` in one transaction, in order; returns the ``kinds.Batch``.
        ``position`` stamps events and segments with the GPS fix at their time (``kinds.Batch``).

        Consecutive records of one type go to their writer together (one
        ``executemany`` for many frames' detections). A type with no writer
        raises TypeError before anything is written.
        """
        groups = [(kind, list(group)) for kind, group in itertools.groupby(records, type)]
        for kind, _ in groups:
            if kind not in self._writers:
                raise TypeError(f"the store has no writer for {kind!r}")
        batch = Batch(self.conn, position)
        with self._transaction():
            for kind, group in groups:
                self._writers[kind](batch, run_id, group)
            for observer in self._observers:
                observer(batch, run_id)
        for callback in batch.committed:
            callback()
        if self._low:
            # Low on room, the main file takes this commit's pages now, while there is
            # room: unbackfilled pages on a full volume would stop every checkpoint.
            self._checkpoint("PASSIVE")
        if not self.reserve.held and self.reserve.keep():
            self.end_reserve.keep()
        return batch

    def reclaim(self):
        """After a write the volume refused: give the reserve back (the end's too, once the
        main one is spent: a store that takes nothing more is worse than a run's end left for
        the next start), checkpoint the WAL into the main file and cut it to zero bytes
        (``wal_checkpoint(TRUNCATE)``); wake the ``when_short`` callbacks. Returns the bytes
        given back (0: a retry would fail too)."""
        for callback in self._when_short:
            callback()
        given = self.reserve.release() or self.end_reserve.release()
        before = file_size(self.path + "-wal")
        self._checkpoint("TRUNCATE")
        given += max(0, before - file_size(self.path + "-wal"))
        if given:
            self._report("reclaim", logging.WARNING, "store %s: volume full, %d bytes given "
                         "back to the store (reserve and WAL)", self.path, given)
        return given

    def make_room(self, rows=500):
        """At the stop, when retention no longer prunes for the store: delete the oldest
        ``rows`` detection rows (their pages freed inside the file) and checkpoint, so the
        evidence still held can land. True if any went."""
        try:
            with self._transaction():
                pruned = prune_detections(self.conn, None, rows)
        except sqlite3.OperationalError:
            return False
        self._checkpoint("TRUNCATE")
        if pruned:
            log.warning("store %s: %d old detection rows pruned at the stop to make room for "
                        "the evidence still held", self.path, pruned)
        return pruned > 0

    def _checkpoint(self, mode):
        # TRUNCATE waits for readers to leave the WAL (PASSIVE never waits): briefly, a
        # reader's query, not the 5 s busy timeout while the queue fills behind the writer.
        self.conn.execute(f"PRAGMA busy_timeout={RECLAIM_WAIT_MS:d}")
        try:
            self.conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as error:
            self._report("checkpoint", logging.WARNING, "store %s: checkpoint failed: %s",
                         self.path, error)
        finally:
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS:d}")

    def new_run(self, started_at, version, config=None, model=None, backend=None,
                precision=None, source=None, backend_reason=None, after=0):
        """A new run's ``runs.RunBegun`` record, its id allocated without a write (above
        ``after`` too: a run folder whose row never landed). Write it before any record of
        the run (the event logger's first)."""
        return RunBegun(next_run_id(self.conn, after), started_at, version, config, model,
                        backend, precision, source, backend_reason)

    def begin_run(self, started_at, version, **row):
        """``new_run``, written now; returns its id. ``started_at`` in UTC epoch seconds."""
        record = self.new_run(started_at, version, **row)
        self.write(record.run_id, [record])
        return record.run_id

    def end_run(self, run_id, ended_at, summary=None):
        """Set the run's end and summary; on a full volume again after ``reclaim``, and then
        after giving back the end's own reserve. False (logged) if the store still refuses
        it: the next start closes the run."""
        error = None
        for make_room in (None, self.reclaim, self.end_reserve.release):
            if make_room is not None and (not is_full(error) or not make_room()):
                continue
            try:
                with self._transaction():
                    end_run(self.conn, run_id, ended_at, summary)
                return True
            except sqlite3.OperationalError as refused:
                error = refused
        log.error("store %s: run %d's end not written (%s); the next start closes it",
                  self.path, run_id, error)
        return False

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
    try:   # unbuffered: a write the volume refused must not come back at close
        os.ftruncate(handle.fileno(), 0)
        os.write(handle.fileno(), str(os.getpid()).encode())
    except OSError:
        pass   # a full volume: the pid only names the holder in the message above
    return handle


def _refuse_empty(path):
    """A zero-length file is not a store: SQLite would silently make it one (a typo'd
    ``--db`` on some other empty file). Only a path that does not exist becomes a new store."""
    if os.path.isfile(path) and file_size(path) == 0 and file_size(path + "-wal") == 0:
        raise StoreError("{} is an empty file, not a dashcam store: pass the store's path to "
                         "--db, or delete the empty file to start a new store there".format(path))
