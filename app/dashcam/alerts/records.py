"""What an alert is, what each sink did with it, and how both reach the store.

An ``Alert`` is made by the engine from a rule's ``Finding`` on one frame; each
sink reports a ``Delivery``; once every sink has, the engine submits one
``AlertRecord`` to the event logger. Its kind writer inserts the alert's event
(type ``alert``, through ``kinds.insert_event``, so the alert gets an event id,
reaches the event subscribers and, with recording, a clip) and one ``alerts``
row per sink linked to it.
"""

import json
from collections import namedtuple

from dashcam import events as ev
from dashcam.store.kinds import insert_event
from dashcam.timestamps import iso_utc

DELIVERED = "delivered"      # the sink did its job (LED pattern started, line written)
FAILED = "failed"            # it tried and failed (I/O error, port vanished)
DROPPED = "dropped"          # its queue was full: it was behind
UNAVAILABLE = "unavailable"  # it has no hardware (no GPIO, no port): nothing was tried
PENDING = "pending"          # no report by the stop or within the delivery timeout
DELIVERY_COLUMNS = ("sink", "status", "ts", "message", "error", "latency_ms")


class Alert(namedtuple("Alert", "alert_id rule severity track_id label confidence box ttc "
                                "frame_index t_mono t_utc detect_s")):
    """A rule fired for a track on the frame captured at ``t_mono``/``t_utc`` (seconds);
    ``ttc`` seconds or None; ``detect_s`` the detector's time on that frame."""

    __slots__ = ()


class Delivery(namedtuple("Delivery", "sink status t_mono t_utc message error")):
    """What sink ``sink`` did with an alert, and when (its clock and UTC seconds)."""

    __slots__ = ()


class AlertRecord(namedtuple("AlertRecord", "alert deliveries")):
    """An alert with every sink's ``Delivery``, on its way to the store."""

    __slots__ = ()


def alert_event(alert, deliveries=()):
    """The ``alert`` event of ``alert``: rule, confidence, box, TTC, frame, sinks' statuses."""
    return ev.alert(alert.t_utc, alert.label, alert.track_id, alert.severity, {
        "rule": alert.rule, "confidence": round(float(alert.confidence), 4),
        "box": [round(float(v), 1) for v in alert.box],
        "ttc_s": None if alert.ttc is None else round(alert.ttc, 2),
        "frame_index": alert.frame_index,
        "sinks": {d.sink: d.status for d in deliveries}})


def write_alerts(batch, run_id, records):
    """The kind writer of ``AlertRecord``: the event, then its delivery rows."""
    rows = []
    for record in records:
        event_id = insert_event(batch, run_id, alert_event(record.alert, record.deliveries))
        for d in record.deliveries:
            latency = None
            if d.status == DELIVERED:
                latency = round((d.t_mono - record.alert.t_mono) * 1000.0, 2)
            rows.append((event_id, iso_utc(d.t_utc), d.sink, d.message,
                         int(d.status == DELIVERED), d.status, d.error, latency))
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
