"""Reading the store: the CLI and export, each on its own connection beside the writer.

Besides ``StoreReader``, the rows that other parts look up one at a time: an
event by id, a frame's detections, the runs, a table's rows as they are.
Functions take a connection (``conn``) or, where rows come back as dicts, a
reader's sqlite-utils ``db``.
"""

import json
import os
import sqlite3
from collections import Counter

import sqlite_utils

from dashcam import events as ev
from dashcam.errors import StoreError
from dashcam.store.fixes import STAMP_COLUMNS, read_fixes
from dashcam.store.maintenance import integrity_check
from dashcam.store.outbox import outbox_summary
from dashcam.store.schema import LATEST_VERSION, connect, quote, schema_version
from dashcam.timestamps import iso_utc


def time_range(column, since=None, until=None):
    """``(clauses, params)`` that keep rows whose ISO time ``column`` is in [since, until)
    (UTC epoch seconds, either None for open)."""
    clauses, params = [], []
    if since is not None:
        clauses.append(f"{column} >= ?")
        params.append(iso_utc(since))
    if until is not None:
        clauses.append(f"{column} < ?")
        params.append(iso_utc(until))
    return clauses, params


class StoreReader:
    """A read-only view of the store for the CLI and export, on its own connection.

    It never migrates (the writer does that) and never creates the file: a
    missing store is an error naming the path, not an empty new database.
    """

    def __init__(self, path):
        if not os.path.isfile(path):
            raise StoreError("no store at {}: run `dashcam run` first, or pass "
                             "--db PATH".format(path))
        self.path = path
        try:
            self.conn = connect(path)
            version = schema_version(self.conn)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot read store {path}: {error}")
        if not 1 <= version <= LATEST_VERSION:
            self.conn.close()
            raise StoreError("{} has schema version {}, this dashcam reads 1..{}: {}".format(
                path, version, LATEST_VERSION,
                "not a dashcam store" if version == 0 else "upgrade dashcam"))
        self.db = sqlite_utils.Database(self.conn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def events(self, since=None, until=None, types=(), labels=(), run_id=None, limit=None):
        """Events that started in [``since``, ``until``) (UTC epoch seconds), oldest first.

        ``types`` and ``labels`` keep events of any of the given values. Each
        event is a dict with the table's columns and ``data`` decoded from JSON, and the
        GPS stamp at its start (``lat``, ``lon``, ``speed_kmh``, ``fix_age_s``; None: no fix).
        """
        where, params = time_range("ts_start", since, until)
        for column, values in (("type", types), ("label", labels)):
            if values:
                where.append("{} IN ({})".format(column, ", ".join("?" * len(values))))
                params.extend(values)
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        # the GPS stamp (lat, lon, speed_kmh, fix_age_s) where the store has it
        stamps = [c for c in STAMP_COLUMNS if c in self.columns("events")]
        sql = ("SELECT id, run_id, ts_start, ts_end, type, label, track_id, severity, data"
               + "".join(", " + c for c in stamps) + " FROM events")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts_start, id"
        if limit is not None:
            sql += f" LIMIT {limit:d}"
        rows = []
        for row in self.db.query(sql, params):
            row["data"] = json.loads(row["data"]) if row["data"] else None
            rows.append(row)
        return rows

    def fixes(self, since=None, until=None):
        """The GPS fixes received in [``since``, ``until``) (UTC epoch seconds, the run's
        clock), a list of ``senses.Fix`` in time order; empty in a store without fixes."""
        if not self.columns("fixes"):
            return []
        return read_fixes(self.conn, *time_range("ts", since, until))

    def outbox_summary(self):
        """The fleet link's outbox: depth, last acknowledgement, the link's state, what was
        dropped (``store.outbox.outbox_summary``); None in a store older than the outbox."""
        return outbox_summary(self.conn)

    def runs(self):
        return list(self.db.query("SELECT * FROM runs ORDER BY id"))

    def last_run(self):
        """The newest run's row, or None in a store without runs."""
        return next(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"), None)

    def labels(self):
        """The object labels that events in the store carry, sorted."""
        return [row[0] for row in self.conn.execute(
            "SELECT DISTINCT label FROM events WHERE label IS NOT NULL ORDER BY label")]

    def count(self, table):
        return self.db[table].count

    def columns(self, table):
        """``table``'s column names; empty when the store has no such table (an older schema)."""
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]

    def evidence(self, event_ids):
        """``{event_id: {"snapshot": path, "clip": clip}}`` for ``event_ids``: the event's
        snapshot JPEG (relative to the recordings folder) and its clip, ``{"event_id",
        "segments", "window_start", "window_end"}`` (``dashcam clip EVENT_ID`` writes it),
        each None where there is none, or where the store has no recording tables."""
        ids = list(event_ids)
        found = {event_id: {"snapshot": None, "clip": None} for event_id in ids}
        snapshots = "snapshot" in self.columns("events")
        clips = bool(self.columns("clips"))
        for first in range(0, len(ids), 500):   # SQLite 3.22 takes 999 parameters at most
            chunk = ids[first:first + 500]
            marks = ", ".join("?" * len(chunk))
            if snapshots:
                for event_id, path in self.conn.execute(
                        f"SELECT id, snapshot FROM events WHERE id IN ({marks})"
                        " AND snapshot IS NOT NULL AND snapshot != ''", chunk):
                    found[event_id]["snapshot"] = path
            if clips:
                # every row of an event's clip has its window: any row's will do
                for event_id, segments, start, end in self.conn.execute(
                        "SELECT event_id, count(*), window_start, window_end FROM clips"
                        f" WHERE event_id IN ({marks}) GROUP BY event_id", chunk):
                    found[event_id]["clip"] = {"event_id": event_id, "segments": segments,
                                               "window_start": start, "window_end": end}
        return found

    def in_range(self, since=None, until=None):
        """``{"events": n, "alerts": n, "segments": n}``: what lies in [``since``, ``until``)
        (UTC epoch seconds, either None for open); segments by overlap, where the store has them."""
        spans = [("events", time_range("ts_start", since, until)),
                 ("alerts", time_range("ts", since, until))]
        if self.columns("segments"):
            # a segment overlapping the range: started before its end, ended after its start
            where, params = time_range("started_at", None, until)
            if since is not None:
                where.append("ended_at > ?")
                params.append(iso_utc(since))
            spans.append(("segments", (where, params)))
        counts = {}
        for table, (where, params) in spans:
            sql = f"SELECT count(*) FROM {table}" + (" WHERE " + " AND ".join(where) if where
                                                     else "")
            counts[table] = self.conn.execute(sql, params).fetchone()[0]
        return counts

    def event_span(self):
        """``(first, last)``: the start times (ISO UTC) of the store's first and last events,
        ``(None, None)`` when it has none."""
        return tuple(self.conn.execute("SELECT min(ts_start), max(ts_start) FROM events")
                     .fetchone())

    def alert_rules(self):
        """The names of the rules that raised the store's alerts, sorted."""
        rules = set()
        for (data,) in self.conn.execute("SELECT data FROM events WHERE type = ?",
                                         (ev.ALERT,)):
            rule = json.loads(data).get("rule") if data else None
            if rule:
                rules.add(rule)
        return sorted(rules)

    def integrity_check(self):
        return integrity_check(self.conn)


def event_by_id(db, event_id):
    """Event ``event_id`` (a dict of id, type, label, track_id, ts_start, ts_end), or None."""
    return next(db.query("SELECT id, type, label, track_id, ts_start, ts_end FROM events"
                         " WHERE id = ?", [event_id]), None)


def event_type_counts(conn):
    """How many events of each type the store holds, a ``Counter``."""
    return Counter(r[0] for r in conn.execute("SELECT type FROM events"))


def frame_detections(db, ts):
    """The detection rows of the frame stamped ``ts`` (ISO time): dicts of label,
    confidence, x1, y1, x2, y2 and track_id."""
    return list(db.query(
        "SELECT label, confidence, x1, y1, x2, y2, track_id FROM detections WHERE ts = ?",
        [ts]))


def run_ids(conn):
    """The ids of every run, a set."""
    return {r[0] for r in conn.execute("SELECT id FROM runs")}


def table_rows(conn, table):
    """Every row of ``table``, in rowid order, as tuples in ``table_columns`` order (an iterator)."""
    return conn.execute(f"SELECT * FROM {quote(table)} ORDER BY rowid")
