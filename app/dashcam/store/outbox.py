"""The fleet link's outbox (``dashcam.fleet``): messages kept until the broker acknowledges them.

The writer side (``insert_messages``, ``drop_candidates``, ``delete_messages``, the
state) runs inside the event logger's transactions, through the fleet's kind
writers; the reader side (``pending_messages``, ``outbox_summary``) on a reader's
connection. ``opened_event`` and ``track_alerts`` answer what an event's message
needs to know of the events before it (the lifecycle of ``<prefix>/events``).
"""

import json

from dashcam.store.schema import has_table


def insert_messages(conn, rows):
    """Insert ``(topic, priority, payload, created_at)`` rows; their seqs, in order."""
    return [conn.execute(
        "INSERT INTO outbox (topic, priority, payload, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
        (topic, priority, payload, len(payload.encode("utf-8")), created)).lastrowid
        for topic, priority, payload, created in rows]


def outbox_totals(conn):
    """``(rows, bytes)`` the outbox holds."""
    rows, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox").fetchone()
    return rows, size


def superseded(conn, priority, newest):
    """``(seq, priority, bytes)`` of the rows of ``priority`` older than seq ``newest``."""
    return conn.execute("SELECT seq, priority, bytes FROM outbox WHERE priority = ? AND seq < ?"
                        " ORDER BY seq", (priority, newest)).fetchall()


def drop_candidates(conn, order):
    """``(seq, priority, bytes)`` in the order the bound drops them: by the rank of their
    priority in ``order`` (a sequence of priorities), oldest first within it. A cursor:
    read what is needed."""
    ranks = " ".join(f"WHEN {int(p):d} THEN {rank:d}" for rank, p in enumerate(order))
    return conn.execute("SELECT seq, priority, bytes FROM outbox ORDER BY CASE priority {} "
                        "ELSE {:d} END, seq".format(ranks, len(order)))


def delete_messages(conn, seqs):
    """Delete the rows of ``seqs``; how many there were."""
    deleted = 0
    seqs = list(seqs)
    for first in range(0, len(seqs), 500):   # SQLite 3.22 takes 999 parameters at most
        part = seqs[first:first + 500]
        deleted += conn.execute("DELETE FROM outbox WHERE seq IN ({})".format(
            ", ".join("?" * len(part))), part).rowcount
    return deleted


def read_state(conn, key, default=None):
    """The JSON value of ``key`` in ``outbox_state``, or ``default``."""
    row = conn.execute("SELECT value FROM outbox_state WHERE key = ?", (key,)).fetchone()
    return default if row is None or row[0] is None else json.loads(row[0])


def write_state(conn, key, value):
    conn.execute("INSERT OR REPLACE INTO outbox_state (key, value) VALUES (?, ?)",
                 (key, json.dumps(value, sort_keys=True)))


def pending_messages(conn, exclude=(), limit=256):
    """``(seq, topic, priority, payload)`` of up to ``limit`` rows in the order they are sent
    (priority, then oldest first), leaving out the seqs in ``exclude`` (those in flight)."""
    exclude = list(exclude)
    where = " WHERE seq NOT IN ({})".format(", ".join("?" * len(exclude))) if exclude else ""
    return conn.execute("SELECT seq, topic, priority, payload FROM outbox{} ORDER BY priority,"
                        " seq LIMIT {:d}".format(where, limit), exclude).fetchall()


def outbox_summary(conn):
    """What ``dashcam fleet status`` shows: ``{"rows", "bytes", "by_priority": {n: rows},
    "oldest": ISO time or None, "last_seq", "last_ack", "link", "dropped"}``; None in a
    store without an outbox (older than the fleet link)."""
    if not has_table(conn, "outbox"):
        return None
    rows, size = outbox_totals(conn)
    by_priority = dict(conn.execute("SELECT priority, COUNT(*) FROM outbox GROUP BY priority"))
    oldest = conn.execute("SELECT MIN(created_at) FROM outbox").fetchone()[0]
    last = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    return {"rows": rows, "bytes": size, "by_priority": by_priority, "oldest": oldest,
            "last_seq": last[0] if last else 0, "last_ack": read_state(conn, "last_ack"),
            "link": read_state(conn, "link"), "dropped": read_state(conn, "dropped")}


def opened_event(conn, run_id, event_type, track_id, before_id):
    """The newest event of ``event_type`` of run ``run_id`` about ``track_id`` (None: about
    no object) inserted before event ``before_id``, as a dict with its ``data`` decoded;
    None when there is none."""
    row = conn.execute(
        "SELECT id, type, ts_start, ts_end, label, track_id, severity, data, lat, lon, speed_kmh"
        " FROM events WHERE run_id IS ? AND type = ? AND track_id IS ? AND id < ?"
        " ORDER BY id DESC LIMIT 1", (run_id, event_type, track_id, before_id)).fetchone()
    if row is None:
        return None
    keys = ("id", "type", "ts_start", "ts_end", "label", "track_id", "severity", "data", "lat",
            "lon", "speed_kmh")
    found = dict(zip(keys, row))
    found["data"] = json.loads(found["data"]) if found["data"] else None
    return found


def has_event_between(conn, run_id, event_type, track_id, after_id, before_id):
    """Whether run ``run_id`` has an event of ``event_type`` about ``track_id`` with an id
    between ``after_id`` and ``before_id`` (an open event closed in between)."""
    return conn.execute(
        "SELECT 1 FROM events WHERE run_id IS ? AND type = ? AND track_id IS ? AND id > ?"
        " AND id < ? LIMIT 1", (run_id, event_type, track_id, after_id, before_id)
    ).fetchone() is not None


def track_alerts(conn, run_id, track_id, since_id, upto_id):
    """``(event_id, severity, data)`` of the alert events of ``track_id`` in run ``run_id``
    with ids from ``since_id`` to ``upto_id``, oldest first."""
    return [(event_id, severity, json.loads(data) if data else {})
            for event_id, severity, data in conn.execute(
                "SELECT id, severity, data FROM events WHERE run_id IS ? AND type = 'alert'"
                " AND track_id IS ? AND id >= ? AND id <= ? ORDER BY id",
                (run_id, track_id, since_id, upto_id))]
