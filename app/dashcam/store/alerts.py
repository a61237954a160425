"""The alerts' rows: each alert is an ``alert`` event, with one ``alerts`` row per sink.

The alert stage turns its ``AlertRecord``s into events and delivery rows
(``alerts.records.write_alerts``, its kind writer); this module writes them
and reads them back for ``dashcam alerts``.
"""

import json

from dashcam import events as ev
from dashcam.store.kinds import insert_event
from dashcam.timestamps import iso_utc

DELIVERY_COLUMNS = ("sink", "status", "ts", "message", "error", "latency_ms")


def insert_alerts(batch, run_id, alerts):
    """Write ``alerts``, ``(event, deliveries)`` pairs, in ``batch``: each event (through
    ``insert_event``), then every delivery row in one statement. A delivery is
    ``(ts, sink, message, delivered, status, error, latency_ms)``."""
    rows = []
    for event, deliveries in alerts:
        event_id = insert_event(batch, run_id, event)
        rows.extend((event_id,) + d for d in deliveries)
    batch.conn.executemany(
        "INSERT INTO alerts (event_id, ts, sink, message, delivered, status, error, latency_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    batch.rows["alerts"] += len(rows)


def read_alerts(conn, since=None, rules=(), run_id=None, limit=None):
    """Alerts (oldest first) with their deliveries, from a reader's connection: dicts of the
    event's id, run, time, rule, severity, label, track, data, and ``deliveries`` per sink."""
    where, params = ["e.type = ?"], [ev.ALERT]
    if since is not None:
        where.append("e.ts_start >= ?")
        params.append(iso_utc(since))
    if run_id is not None:
        where.append("e.run_id = ?")
        params.append(run_id)
    sql = ("SELECT e.id, e.run_id, e.ts_start, e.label, e.track_id, e.severity, e.data"
           " FROM events e WHERE " + " AND ".join(where) + " ORDER BY e.ts_start, e.id")
    # a store from before the delivery columns (an older dashcam wrote it) reads as unknown
    columns = {row[1] for row in conn.execute("PRAGMA table_info(alerts)")}
    picked = ", ".join(c if c in columns else "NULL" for c in DELIVERY_COLUMNS)
    out = []
    for event_id, run, ts, label, track_id, severity, data in conn.execute(sql, params).fetchall():
        data = json.loads(data) if data else {}
        if rules and data.get("rule") not in rules:
            continue
        deliveries = [dict(zip(DELIVERY_COLUMNS, row)) for row in conn.execute(
            f"SELECT {picked} FROM alerts WHERE event_id = ? ORDER BY id", (event_id,))]
        out.append({"id": event_id, "run_id": run, "ts": ts, "rule": data.get("rule"),
                    "severity": severity, "label": label, "track_id": track_id, "data": data,
                    "deliveries": deliveries})
        if limit is not None and len(out) >= limit:
            break
    return out
