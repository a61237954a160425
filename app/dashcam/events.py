"""Events: the one shape that the store, alert rules, recording and export share.

An event has a type, a start and (once known) an end time in UTC epoch seconds,
optionally the object (label, track id) it is about, a severity and a small
JSON-able ``data`` dict. Events that last (an object in view, a camera down)
are written open (``ts_end`` None) when they start; the event that ends them
(``object_left``, ``camera_restored``) names the open type it closes in
``CLOSES``, and the store fills in the open event's ``ts_end``. A clip for an
event is then simply [ts_start - pre-roll, ts_end + post-roll].

Everything here is a pure function of what happened and when.
"""

from collections import namedtuple

from dashcam.timestamps import iso_utc

OBJECT_APPEARED = "object_appeared"
OBJECT_LEFT = "object_left"
CAMERA_LOST = "camera_lost"
CAMERA_RESTORED = "camera_restored"
RUN_STARTED = "run_started"
RUN_STOPPED = "run_stopped"
RUN_INTERRUPTED = "run_interrupted"
WORKER_FAILED = "worker_failed"         # a part of the run died; the run went on
EXPORT_FINISHED = "export_finished"     # told by `dashcam export` (service.control)
CONTROL_REFUSED = "control_refused"     # datagrams the control socket refused, one a burst
ALERT = "alert"                         # a rule fired (dashcam.alerts)
# Recording (dashcam.recording): the video's own events.
RECORDING_PAUSED = "recording_paused"
RECORDING_RESUMED = "recording_resumed"
RECORDING_FAILED = "recording_failed"
SEGMENT_RECOVERED = "segment_recovered"
SEGMENT_QUARANTINED = "segment_quarantined"
PROTECTED_DELETED = "protected_deleted"
# GPS (dashcam.gps): the receiver's fix lost (no fix for [gps] lost-after s, or the device
# gone) and back.
GPS_LOST = "gps_lost"
GPS_RESTORED = "gps_restored"
# The vehicle's own senses (dashcam.imu) and the driver's lock (a button, `dashcam lock`).
IMPACT = "impact"
HARSH_BRAKING = "harsh_braking"
HARSH_ACCELERATION = "harsh_acceleration"
HARSH_CORNERING = "harsh_cornering"
MANUAL_LOCK = "manual_lock"
# Parking mode (dashcam.parking).
PARKING_STARTED = "parking_started"
PARKING_ENDED = "parking_ended"
PARKING_EVENT = "parking_event"         # a car came near, or an impact, while parked
TYPES = (OBJECT_APPEARED, OBJECT_LEFT, CAMERA_LOST, CAMERA_RESTORED, RUN_STARTED, RUN_STOPPED,
         RUN_INTERRUPTED, WORKER_FAILED, EXPORT_FINISHED, ALERT, RECORDING_PAUSED, RECORDING_RESUMED,
         RECORDING_FAILED, SEGMENT_RECOVERED, SEGMENT_QUARANTINED, PROTECTED_DELETED,
         CONTROL_REFUSED, GPS_LOST, GPS_RESTORED, IMPACT, HARSH_BRAKING, HARSH_ACCELERATION,
         HARSH_CORNERING, MANUAL_LOCK, PARKING_STARTED, PARKING_ENDED, PARKING_EVENT)

INFO, WARNING, CRITICAL = "info", "warning", "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)

# closing type -> the open type whose ts_end it sets (matched on run and track id)
CLOSES = {OBJECT_LEFT: OBJECT_APPEARED, CAMERA_RESTORED: CAMERA_LOST,
          RECORDING_RESUMED: RECORDING_PAUSED, GPS_RESTORED: GPS_LOST,
          PARKING_ENDED: PARKING_STARTED}


class Event(namedtuple("Event", "type ts_start ts_end label track_id severity data")):
    """One thing that happened; times are UTC epoch seconds, ``data`` a JSON-able dict."""

    __slots__ = ()

    def as_dict(self):
        """The JSON shape (ISO-8601 UTC times), as ``dashcam events --json`` prints."""
        return {
            "type": self.type, "ts_start": iso_utc(self.ts_start), "ts_end": iso_utc(self.ts_end),
            "label": self.label, "track_id": self.track_id, "severity": self.severity,
            "data": self.data,
        }


def _box(box):
    return [round(float(v), 1) for v in box]


def object_appeared(track):
    """A confirmed track: open until the object leaves."""
    return Event(OBJECT_APPEARED, track.first_seen, None, track.label, track.track_id, INFO,
                 {"confidence": round(track.best_confidence, 4), "box": _box(track.box),
                  "frames": track.hits})


def object_left(track):
    """A confirmed track that ended, stamped when it was last seen (when it left); its
    first-seen time, duration and best view are in the data."""
    return Event(OBJECT_LEFT, track.last_seen, track.last_seen, track.label, track.track_id,
                 INFO, {"frames": track.hits, "first_seen": iso_utc(track.first_seen),
                        "duration_s": round(track.last_seen - track.first_seen, 3),
                        "best_confidence": round(track.best_confidence, 4),
                        "best_box": _box(track.best_box), "last_box": _box(track.box)})


def events_from_tracks(update):
    """``object_appeared`` for each newly confirmed track, ``object_left`` for each ended one."""
    return ([object_appeared(t) for t in update.confirmed]
            + [object_left(t) for t in update.ended])


def camera_lost(t_utc, uri, reason):
    """The source failed or vanished: open until it is restored."""
    return Event(CAMERA_LOST, t_utc, None, None, None, WARNING, {"source": uri, "reason": reason})


def camera_restored(t_utc, uri, lost_at, attempts):
    """The source reopened after ``attempts`` tries; ``lost_at`` is when it was lost."""
    return Event(CAMERA_RESTORED, t_utc, t_utc, None, None, INFO,
                 {"source": uri, "down_s": round(t_utc - lost_at, 3), "attempts": attempts})


def run_started(t_utc, data):
    return Event(RUN_STARTED, t_utc, t_utc, None, None, INFO, dict(data))


def run_stopped(t_utc, data):
    return Event(RUN_STOPPED, t_utc, t_utc, None, None, INFO, dict(data))


def run_interrupted(t_utc, run_id):
    """Found at the next start: run ``run_id`` ended at ``t_utc`` (its last committed row)
    without an orderly stop."""
    return Event(RUN_INTERRUPTED, t_utc, t_utc, None, None, WARNING,
                 {"run_id": run_id, "reason": "no orderly stop: a crash, a kill or a power cut"})


def worker_failed(t_utc, worker, error):
    """A part of the run stopped on an error (``worker``: its thread's name) and the run goes
    on without it: snapshots, retention, a preview. ``doctor`` and the summary say so too."""
    return Event(WORKER_FAILED, t_utc, t_utc, None, None, CRITICAL,
                 {"worker": worker, "error": error})


def export_finished(t_utc, ok, data):
    """An export to a USB stick (``dashcam export``) ended, told to the running service;
    ``ok`` False when it failed (the reason in ``data["error"]``)."""
    return Event(EXPORT_FINISHED, t_utc, t_utc, None, None, INFO if ok else WARNING,
                 dict(data, ok=bool(ok)))


def alert(t_utc, label, track_id, severity, data):
    """A rule fired for an object (``dashcam.alerts``), stamped with its frame's capture time;
    ``data`` names the rule and carries confidence, box, TTC and what each sink did."""
    return Event(ALERT, t_utc, t_utc, label, track_id, severity, dict(data))


def recording_paused(t_utc, reason, free_bytes):
    """The recordings volume is full (or failing): no video until it is resumed."""
    return Event(RECORDING_PAUSED, t_utc, None, None, None, CRITICAL,
                 {"reason": reason, "free_bytes": free_bytes})


def recording_resumed(t_utc, paused_at, frames_missed, free_bytes):
    return Event(RECORDING_RESUMED, t_utc, t_utc, None, None, INFO,
                 {"paused_s": round(t_utc - paused_at, 3), "frames_missed": frames_missed,
                  "free_bytes": free_bytes})


def recording_failed(t_utc, reason):
    """The run goes on without video (no encoder here, or the encoder broke)."""
    return Event(RECORDING_FAILED, t_utc, t_utc, None, None, CRITICAL, {"reason": reason})


def segment_recovered(t_utc, path, frames, cut_bytes, kept=None):
    """A segment left by a crash was readable: indexed up to its last whole frame; the
    bytes cut after it are kept in ``kept`` (relative to the recordings folder)."""
    return Event(SEGMENT_RECOVERED, t_utc, t_utc, None, None, WARNING,
                 {"path": path, "frames": frames, "cut_bytes": cut_bytes, "kept": kept})


def segment_quarantined(t_utc, path, moved_to, reason):
    """A file in the recordings folder that no player could use: moved aside, not deleted."""
    return Event(SEGMENT_QUARANTINED, t_utc, t_utc, None, None, WARNING,
                 {"path": path, "moved_to": moved_to, "reason": reason})


def protected_deleted(t_utc, paths, event_ids, reason):
    """Retention had to delete protected video (evidence of ``event_ids``) to meet its bound."""
    return Event(PROTECTED_DELETED, t_utc, t_utc, None, None, CRITICAL,
                 {"paths": list(paths), "event_ids": sorted(set(event_ids)), "reason": reason})


def control_refused(first_utc, last_utc, counts, senders):
    """Datagrams the control socket refused in one burst, from ``first_utc`` to ``last_utc``:
    ``counts`` by reason (``foreign_sender``, ``rate_limited``, ``invalid``) and the foreign
    ``senders`` (pid, uid, gid of each user, a few at most). One event per burst, however
    many datagrams a flood sent."""
    return Event(CONTROL_REFUSED, first_utc, last_utc, None, None, WARNING,
                 dict(counts, senders=[dict(s) for s in senders]))


def gps_lost(t_utc, source, reason, last_fix_utc=None):
    """No fix from ``source`` since ``last_fix_utc`` (None: none yet this run), or its device
    is gone: open until it is restored. Events meanwhile carry no position."""
    return Event(GPS_LOST, t_utc, None, None, None, WARNING,
                 {"source": source, "reason": reason, "last_fix": iso_utc(last_fix_utc)})


def gps_restored(t_utc, source, lost_at):
    """A fix again from ``source`` after it was lost at ``lost_at``."""
    return Event(GPS_RESTORED, t_utc, t_utc, None, None, INFO,
                 {"source": source, "down_s": round(t_utc - lost_at, 3)})


def motion(kind, start_utc, end_utc, severity, data):
    """An ``impact`` or ``harsh_*`` event (``dashcam.imu``) from ``start_utc`` to ``end_utc``;
    ``data``: peak and threshold in g, duration, the source."""
    return Event(kind, start_utc, end_utc, None, None, severity, dict(data))


def manual_lock(t_utc, by, note=None):
    """The driver asked to keep this moment: ``by`` ``button``, ``command`` (``dashcam
    lock``) or ``fleet`` (the fleet link's ``lock``), with an optional ``note``. Its clip
    is protected like an alert's."""
    data = {"by": by}
    if note:
        data["note"] = note
    return Event(MANUAL_LOCK, t_utc, t_utc, None, None, INFO, data)


def parking_started(t_utc, reason):
    """Parking mode began (``reason``: ``ignition`` or ``still``): open until it ends."""
    return Event(PARKING_STARTED, t_utc, None, None, None, INFO, {"reason": reason})


def parking_ended(t_utc, reason, parked_s):
    """Parking mode ended after ``parked_s`` seconds (``reason``: ``ignition``, ``movement``,
    ``impact`` or ``run_stopped``)."""
    return Event(PARKING_ENDED, t_utc, t_utc, None, None, INFO,
                 {"reason": reason, "parked_s": round(parked_s, 3)})


def parking_event(t_utc, cause, label, track_id, data):
    """While parked: a car approaching (``cause`` ``approach``, with its box and time to
    collision) or an impact (``impact``); its clip is protected, the seconds before included."""
    return Event(PARKING_EVENT, t_utc, t_utc, label, track_id,
                 CRITICAL if cause == "impact" else WARNING, dict(data, cause=cause))
