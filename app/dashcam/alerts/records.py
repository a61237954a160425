"""What an alert is, what each sink did with it, and how both reach the store.

An ``Alert`` is made by the engine from a rule's ``Finding`` on one frame; each
sink reports a ``Delivery``; once every sink has, the engine submits one
``AlertRecord`` to the event logger. Its kind writer inserts the alert's event
(type ``alert``, through ``store.insert_alerts``, so the alert gets an event id,
reaches the event subscribers and, with recording, a clip) and one ``alerts``
row per sink linked to it.
"""

from collections import namedtuple

from dashcam import events as ev
from dashcam.store import insert_alerts
from dashcam.timestamps import iso_utc

DELIVERED = "delivered"      # the sink did its job (LED pattern started, line written)
FAILED = "failed"            # it tried and failed (I/O error, port vanished)
DROPPED = "dropped"          # its queue was full: it was behind
UNAVAILABLE = "unavailable"  # it has no hardware (no GPIO, no port): nothing was tried
PENDING = "pending"          # no report by the stop or within the delivery timeout


class Alert(namedtuple("Alert", "alert_id rule severity track_id label confidence box ttc "
                                "frame_index t_mono t_utc detect_s t_raised")):
    """A rule fired for a track on the frame captured at ``t_mono``/``t_utc`` (seconds);
    ``ttc`` seconds or None; ``detect_s`` the detector's time on that frame; ``t_raised``
    when the engine raised it (``t_mono``'s clock)."""

    __slots__ = ()


class Delivery(namedtuple("Delivery", "sink status t_mono t_utc message error")):
    """What sink ``sink`` did with an alert, and when (its clock and UTC seconds)."""

    __slots__ = ()


class AlertRecord(namedtuple("AlertRecord", "alert deliveries")):
    """An alert with every sink's ``Delivery``, on its way to the store."""

    __slots__ = ()


def alert_event(alert, deliveries=()):
    """The ``alert`` event of ``alert``: rule, confidence, box, TTC, frame, how long after
    the frame's capture it was raised, sinks' statuses."""
    return ev.alert(alert.t_utc, alert.label, alert.track_id, alert.severity, {
        "rule": alert.rule, "alert_id": alert.alert_id, "confidence": round(float(alert.confidence), 4),
        "box": [round(float(v), 1) for v in alert.box],
        "ttc_s": None if alert.ttc is None else round(alert.ttc, 2),
        "frame_index": alert.frame_index,
        "raised_ms": round((alert.t_raised - alert.t_mono) * 1000.0, 2),
        "sinks": {d.sink: d.status for d in deliveries}})


def write_alerts(batch, run_id, records):
    """The kind writer of ``AlertRecord``: the event, then its delivery rows (``store.insert_alerts``)."""
    insert_alerts(batch, run_id, [
        (alert_event(record.alert, record.deliveries),
         [delivery_row(record.alert, d) for d in record.deliveries]) for record in records])


def delivery_row(alert, delivery):
    """``delivery`` as ``store.insert_alerts`` writes it; latency (ms) only when delivered."""
    latency = None
    if delivery.status == DELIVERED:
        latency = round((delivery.t_mono - alert.t_mono) * 1000.0, 2)
    return (iso_utc(delivery.t_utc), delivery.sink, delivery.message,
            int(delivery.status == DELIVERED), delivery.status, delivery.error, latency)
