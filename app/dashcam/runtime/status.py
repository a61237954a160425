"""What the run is doing, in numbers: the status line and the stats rows.

Workers record into ``metrics.Window`` objects from their own threads; the main
thread reads snapshots. Formatting and rate arithmetic are pure functions of
two snapshots and the time between them.
"""

from collections import namedtuple

from dashcam.metrics import percentile


class Snapshot(namedtuple("Snapshot", "t frames_in frames_processed frames_dropped events "
                                      "latency added preprocess infer postprocess tracking "
                                      "queue_depth active_tracks gps")):
    """Counters (cumulative) and recent latency windows (lists of seconds) at monotonic ``t``;
    ``gps``: the fix state in words (``GpsState.describe``), None where there is no GPS."""

    __slots__ = ()


Snapshot.__new__.__defaults__ = (None,)  # namedtuple defaults= needs Python 3.7


def take_snapshot(parts, clock):
    """A ``Snapshot`` of a run's parts (``build.Parts``) at ``clock()``."""
    inference, logger = parts.inference, parts.logger
    return Snapshot(
        clock(), parts.capture.frames, inference.processed, parts.slot.overwritten,
        logger.events, logger.latency.values(), logger.added.values(),
        inference.preprocess.values(), inference.infer.values(),
        inference.postprocess.values(), inference.tracking.values(),
        logger.queue_depth, inference.active_tracks, parts.gps.state.describe())


def _ms(value):
    return None if value is None else round(value * 1000.0, 2)


def summary_figures(snapshot):
    """The run summary's latency and stage-time percentiles (ms) of the recent frames."""
    figures = {}
    for name, values in (("latency", snapshot.latency), ("added_latency", snapshot.added)):
        for q in (50, 95):
            figures[f"{name}_p{q}_ms"] = _ms(percentile(values, q))
    for name in ("preprocess", "infer", "postprocess", "tracking"):
        figures[name + "_p50_ms"] = _ms(percentile(getattr(snapshot, name), 50))
    return figures


def rates(previous, current):
    """Frames in and processed per second between two snapshots."""
    elapsed = current.t - previous.t
    if elapsed <= 0:
        return 0.0, 0.0
    return ((current.frames_in - previous.frames_in) / elapsed,
            (current.frames_processed - previous.frames_processed) / elapsed)


def stats_row(previous, current, t_utc):
    """A ``stats`` table row for the interval between two snapshots."""
    fps_in, fps_processed = rates(previous, current)
    return {
        "t_utc": t_utc, "interval_s": round(current.t - previous.t, 3),
        "frames_in": current.frames_in, "frames_processed": current.frames_processed,
        "frames_dropped": current.frames_dropped,
        "fps_in": round(fps_in, 2), "fps_processed": round(fps_processed, 2),
        "preprocess_ms": _ms(percentile(current.preprocess, 50)),
        "infer_ms": _ms(percentile(current.infer, 50)),
        "postprocess_ms": _ms(percentile(current.postprocess, 50)),
        "tracking_ms": _ms(percentile(current.tracking, 50)),
        "latency_p50_ms": _ms(percentile(current.latency, 50)),
        "latency_p95_ms": _ms(percentile(current.latency, 95)),
        "added_latency_p50_ms": _ms(percentile(current.added, 50)),
        "added_latency_p95_ms": _ms(percentile(current.added, 95)),
        "events": current.events, "queue_depth": current.queue_depth,
    }


def status_line(previous, current):
    """One line: frames in / processed / dropped, fps, latency p50/p95, events, objects, and
    the GPS (speed and fix, ``52 km/h 3D``, or ``lost``) where there is one."""

    def ms(values, q):
        value = percentile(values, q)
        return "-" if value is None else f"{value * 1000.0:.0f}"

    _, fps_processed = rates(previous, current)
    gps = "" if current.gps in (None, "off") else f" | gps {current.gps}"
    return ("frames in {} processed {} dropped {} | {:.1f} fps | latency p50 {} p95 {} ms "
            "(added p50 {} ms) | infer {} ms | events {} | objects {}".format(
                current.frames_in, current.frames_processed, current.frames_dropped,
                fps_processed, ms(current.latency, 50), ms(current.latency, 95),
                ms(current.added, 50), ms(current.infer, 50), current.events,
                current.active_tracks) + gps)
