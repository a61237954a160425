"""What the fleet link publishes: JSON payloads, built by pure functions (docs/fleet.md).

Every message is a JSON object that starts with ``seq`` (the per-device sequence
number, given by the outbox when the message is stored: ``wire``), ``id`` (a
UUID, the same however often the message is sent: consumers drop duplicates by
it), ``device`` and ``@timestamp`` (UTC ISO-8601, as DeepStream's message
schema names it), then ``type``. Field names follow DeepStream/Metropolis and
Frigate where they have one: ``label``, ``confidence``, ``box``, ``before`` /
``after``, ``start_time`` / ``end_time``.
"""

import json
import uuid
from collections import OrderedDict, namedtuple

from dashcam.timestamps import iso_utc

ALERTS, EVENTS, HEARTBEAT, RESULT = "alerts", "events", "heartbeat", "cmd/result"
GAP = "gap"
# What the outbox sends first, and drops last: alerts (and gap reports), events, heartbeats.
ALERT_PRIORITY, EVENT_PRIORITY, HEARTBEAT_PRIORITY = 0, 1, 2
KINDS = {ALERT_PRIORITY: "alerts", EVENT_PRIORITY: "events", HEARTBEAT_PRIORITY: "heartbeats"}
SEVERITY_ORDER = ("info", "warning", "critical")
POSITION = ("lat", "lon", "speed", "heading")   # km/h and degrees; null without a GPS fix


class Outgoing(namedtuple("Outgoing", "topic priority payload t_utc")):
    """A message to publish on ``<prefix>/<topic>``: ``payload`` JSON text without its seq,
    made at ``t_utc``. Submitted to the event logger, which keeps it in the outbox."""

    __slots__ = ()


def envelope(device, t_utc, kind):
    """The fields every message starts with (``seq`` is added by ``wire``)."""
    return OrderedDict([("id", uuid.uuid4().hex), ("device", device),
                        ("@timestamp", iso_utc(t_utc)), ("type", kind)])


def encode(payload):
    return json.dumps(payload, separators=(",", ":"))


def outgoing(topic, priority, payload, t_utc):
    return Outgoing(topic, priority, encode(payload), t_utc)


def wire(seq, payload):
    """The bytes sent: ``payload`` (a stored JSON object) with ``seq`` as its first field."""
    return '{{"seq":{:d},{}'.format(seq, payload[1:]).encode("utf-8")


def position(lat=None, lon=None, speed_kmh=None, heading=None):
    """The ``POSITION`` fields, each None where there was no GPS fix."""
    return list(zip(POSITION, (lat, lon, None if speed_kmh is None else round(speed_kmh, 1),
                               heading)))


def fix_position(found):
    """``position`` of ``(Fix, age_s)`` (``gps.GpsState.at``), or of no fix (None)."""
    if not found:
        return position()
    fix = found[0]
    return position(fix.lat, fix.lon, fix.speed_kmh, fix.heading)


def alert_message(device, alert, run_id, found=None):
    """``<prefix>/alerts``: an ``alerts.records.Alert``, at once (before the store has it),
    with the GPS fix ``found`` at its time (``fix_position``). Its event id, which ``upload``
    takes, comes on ``<prefix>/events`` with the same ``run_id`` and ``alert_id``."""
    payload = envelope(device, alert.t_utc, "alert")
    payload.update([
        ("rule", alert.rule), ("severity", alert.severity), ("label", alert.label),
        ("confidence", round(float(alert.confidence), 4)),
        ("ttc", None if alert.ttc is None else round(float(alert.ttc), 2)),
        ("track", alert.track_id), ("box", [round(float(v), 1) for v in alert.box]),
        ("frame", alert.frame_index), ("run_id", run_id), ("alert_id", alert.alert_id)])
    payload.update(fix_position(found))
    return outgoing(ALERTS, ALERT_PRIORITY, payload, alert.t_utc)


def event_view(device, run_id, row):
    """An event as ``before``/``after`` show it; ``row``: the store's columns (``id``,
    ``type``, ``ts_start``/``ts_end`` as ISO text, ``label``, ``track_id``, ``severity``,
    ``data``, and the GPS stamp ``lat``, ``lon``, ``speed_kmh`` where it has one)."""
    data = row.get("data") or {}
    view = OrderedDict([
        ("id", "{}:{}".format(device, row["id"])), ("event_id", row["id"]), ("run_id", run_id),
        ("type", row["type"]), ("label", row["label"]), ("track", row["track_id"]),
        ("severity", row["severity"]), ("start_time", row["ts_start"]),
        ("end_time", row["ts_end"]), ("data", data)])
    view.update(position(row.get("lat"), row.get("lon"), row.get("speed_kmh")))
    return view


def event_row(event_id, event, stamp=(None, None, None, None)):
    """An ``events.Event`` just inserted as ``event_id``, in the store's column shape;
    ``stamp``: its GPS columns (``store.fixes.stamp``)."""
    lat, lon, speed_kmh, _ = stamp
    return {"id": event_id, "type": event.type, "ts_start": iso_utc(event.ts_start),
            "ts_end": iso_utc(event.ts_end), "label": event.label, "track_id": event.track_id,
            "severity": event.severity, "data": event.data, "lat": lat, "lon": lon,
            "speed_kmh": speed_kmh}


def with_alerts(view, alerts):
    """``view`` with the alerts raised on its object (``(event_id, severity, data)``), its
    severity raised to the highest of theirs."""
    view = OrderedDict(view)
    view["alerts"] = [OrderedDict([("event_id", event_id), ("rule", data.get("rule")),
                                   ("alert_id", data.get("alert_id"))])
                      for event_id, _, data in alerts]
    severities = [view["severity"]] + [severity for _, severity, _ in alerts]
    view["severity"] = max(severities, key=lambda s: SEVERITY_ORDER.index(s)
                           if s in SEVERITY_ORDER else 0)
    return view


def event_message(device, kind, before, after, t_utc):
    """``<prefix>/events`` as Frigate's ``reviews``: ``type`` ``new`` (an event that lasts has
    begun), ``update`` (an alert on its object), ``end`` (it ended; an event of a moment
    comes once, as ``end`` with ``before`` null)."""
    payload = envelope(device, t_utc, kind)
    payload.update([("before", before), ("after", after)])
    return outgoing(EVENTS, EVENT_PRIORITY, payload, t_utc)


def heartbeat_message(device, t_utc, figures):
    """``<prefix>/heartbeat``: ``figures`` (``fleet.heartbeat``) with the outbox's depth."""
    payload = envelope(device, t_utc, "heartbeat")
    payload.update(figures)
    return outgoing(HEARTBEAT, HEARTBEAT_PRIORITY, payload, t_utc)


def gap_message(device, t_utc, dropped):
    """``<prefix>/gap``: what the outbox's bound dropped while offline: counts by kind, the
    bytes, and the dropped seqs as ``[first, last]`` ranges, so a consumer can tell a gap
    in ``seq`` that is explained from one that is not."""
    payload = envelope(device, t_utc, "gap")
    payload.update([("dropped", OrderedDict((KINDS[p], dropped["counts"].get(str(p), 0))
                                            for p in sorted(KINDS))),
                    ("bytes", dropped["bytes"]), ("seqs", dropped["seqs"]),
                    ("since", dropped["since"]), ("until", dropped["until"])])
    return outgoing(GAP, ALERT_PRIORITY, payload, t_utc)


def result_message(device, t_utc, request_id, command, status, detail=None):
    """``<prefix>/cmd/result``: what became of a command (``ok``, ``accepted``, ``refused``,
    ``failed``), echoing its ``request_id``; ``detail`` a dict of more fields."""
    payload = envelope(device, t_utc, "result")
    payload.update([("request_id", request_id), ("cmd", command), ("status", status)])
    payload.update(detail or {})
    return outgoing(RESULT, EVENT_PRIORITY, payload, t_utc)
