"""What a heartbeat says: the run's rates and latencies, drops, disk, recording, temperature.

``HeartbeatFigures`` is called by the link every ``[mqtt] heartbeat-interval``
seconds; rates are over the time since the previous call, as the status line's
(``runtime.status``). The link adds the outbox's depth.
"""

import shutil
from collections import OrderedDict

from dashcam.board import read_temperatures
from dashcam.runtime.status import rates, summary_figures


def recording_state(recording):
    """``recording``, ``paused`` (its volume is full), ``unavailable`` (no encoder) or
    ``off`` (``[recording] enabled = false``)."""
    if recording is None:
        return "off"
    if recording.unavailable:
        return "unavailable"
    recorder = recording.recorder
    return "paused" if recorder is not None and recorder.paused_at is not None else "recording"


def disk_use(folder):
    """``{"path", "total", "free", "used_pct"}`` of the volume holding ``folder``; None when
    it cannot be read."""
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return None
    used = 100.0 * (usage.total - usage.free) / usage.total if usage.total else 0.0
    return OrderedDict([("path", folder), ("total", usage.total), ("free", usage.free),
                        ("used_pct", round(used, 1))])


class HeartbeatFigures:
    """``snapshot()``: the run's ``runtime.status.Snapshot``; ``recording``: its
    ``Recording`` or None; ``folder``: where recordings (else the store) are kept;
    ``temperatures()``: ``board.read_temperatures`` by default."""

    def __init__(self, snapshot, recording, folder, temperatures=read_temperatures):
        self.snapshot, self.recording, self.folder = snapshot, recording, folder
        self.temperatures = temperatures
        self._last = None

    def __call__(self):
        current = self.snapshot()
        previous, self._last = self._last or current, current
        fps_in, fps = rates(previous, current)
        figures = OrderedDict([
            ("fps", round(fps, 2)), ("fps_in", round(fps_in, 2)),
            ("frames_in", current.frames_in), ("frames_processed", current.frames_processed),
            ("frames_dropped", current.frames_dropped), ("events", current.events),
            ("queue_depth", current.queue_depth), ("objects", current.active_tracks)])
        figures.update(summary_figures(current))
        figures["recording"] = recording_state(self.recording)
        figures["disk"] = disk_use(self.folder)
        figures["temperature"] = self.temperatures() or None
        return figures
