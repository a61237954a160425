"""Recording's parts for the composition root: which encoder, and the workers around it.

``build_recording`` is called by ``runtime.build_pipeline``; it registers the
kind writers on the store and returns a ``Recording`` whose workers the
pipeline starts after the logger and before capture, and stops after capture
and before the logger (so the last segment's row is committed), plus the event
subscribers (clip protection, snapshots) and what capture needs (``publish``
for every frame, or a ``tee`` for the CSI pipeline).

An encoder that cannot run here (no PyAV on Python 3.6, no PyGObject) does
not stop the dashcam: detection, logging and alerts go on, the failure is
logged and recorded as a ``recording_failed`` event, and the summary says so.
"""

import logging
import os
import re
import shutil
import subprocess

from dashcam import events as ev
from dashcam.board import read_board
from dashcam.capture.sources import scheme_of
from dashcam.errors import RecordingError
from dashcam.fanout import Subscriber
from dashcam.recording.clips import ClipKeeper, catch_up, parse_clips
from dashcam.recording.index import RecordingIndex
from dashcam.recording.owner import claim
from dashcam.recording.recorder import RecorderWorker
from dashcam.recording.retention import RetentionWorker, check_bounds, to_bytes, volume
from dashcam.recording.segments import last_run, recover, run_folder
from dashcam.recording.snapshots import SnapshotWorker, wanted
from dashcam.recording.stamp import live_line
from dashcam.store import indexed_segment_paths, run_ids, unclipped_events
from dashcam.timestamps import parse_iso

log = logging.getLogger(__name__)

ENCODERS = ("auto", "software", "hardware")


def choose_encoder(setting, uri, has_nvenc, board):
    """``"software"``, ``"tee"`` (CSI on NVENC) or ``"appsrc"`` (other sources on NVENC).

    ``auto``: NVENC where GStreamer has ``nvv4l2h264enc`` (``has_nvenc``) and
    the ``board`` (a ``dashcam.board.Board``) may have it: not the Orin Nano.
    """
    hardware = setting == "hardware" or (setting == "auto" and has_nvenc and board.has_nvenc)
    if not hardware:
        return "software"
    return "tee" if scheme_of(uri) == "csi" else "appsrc"


def element_properties(element, inspect_output=None):
    """The property names of GStreamer element ``element`` here (``gst-inspect-1.0``), empty
    when it is absent: NVIDIA's encoder gained properties across JetPacks (``idrinterval``
    is not established on JetPack 4.6, tests/gstreamer_surface.tsv), and a property it
    lacks would break the whole pipeline string."""
    if inspect_output is None:
        inspect = shutil.which("gst-inspect-1.0")
        if not inspect:
            return set()
        result = subprocess.run([inspect, element], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, universal_newlines=True)
        if result.returncode != 0:
            return set()
        inspect_output = result.stdout
    return set(re.findall(r"^  ([a-zA-Z][\w-]*)\s*: ", inspect_output, re.MULTILINE))


def make_encoder(kind, folder, section, fps, nvenc=(), speed=None):
    """The encoder of ``kind``; ``nvenc``: the hardware encoder's properties here;
    ``speed()``: the GPS speed now in km/h or None (no GPS), for ``[recording] stamp``."""
    from dashcam.recording.gst import AppsrcEncoder, TeeEncoder
    from dashcam.recording.software import SoftwareEncoder
    common = dict(segment_seconds=section.segment_seconds, bitrate=section.bitrate,
                  keyframe_interval=section.keyframe_interval, fps=fps)
    if kind == "software":
        return SoftwareEncoder(folder, width=section.width, height=section.height,
                               preset=section.preset, threads=section.threads,
                               stamp=live_stamp(speed) if section.stamp else None, **common)
    if section.stamp:
        log.warning("[recording] stamp draws into frames on the software encoder only; the "
                    "NVENC recording is not stamped (its clips carry the subtitle stamp)")
    return (TeeEncoder if kind == "tee" else AppsrcEncoder)(
        folder, idr="idrinterval" in nvenc, **common)


def live_stamp(speed=None):
    """The recorder's stamp text for a frame's UTC time: ``speed()`` read at each frame
    (the GPS stage's ``GpsState.speed_kmh``); without one, "no GPS"."""
    return lambda t_utc: live_line(t_utc, speed() if speed is not None else None)


class Recording:
    """The recording workers of one run and what the pipeline wires to them."""

    def __init__(self, folder, recorder, retention, subscribers, unavailable=None):
        self.folder, self.recorder, self.retention = folder, recorder, retention
        self.subscribers = subscribers
        self.unavailable = unavailable   # why there is no video this run, or None
        self._submit = None

    @property
    def workers(self):
        return [w for w in (self.recorder, self.retention) if w is not None]

    @property
    def publish(self):
        """Capture's ``publish``: every frame to the recorder's queue, when it takes frames."""
        takes = self.recorder is not None and self.recorder.encoder.takes_frames
        return self.recorder.offer if takes else None

    @property
    def tee(self):
        """Capture's CSI ``tee``, when NVENC records inside the capture pipeline."""
        encoder = self.recorder.encoder if self.recorder is not None else None
        return encoder.tee if encoder is not None and not encoder.takes_frames else None

    def last_run(self):
        """The highest run id the folder has video of: the next run's id must be above it."""
        return last_run(self.folder)

    def begin(self, run_id, submit, t_utc):
        for part in [self.recorder] + self.subscribers:
            if isinstance(part, (RecorderWorker, SnapshotWorker)):
                part.run_id = run_id
        if self.unavailable:
            submit(ev.recording_failed(t_utc, self.unavailable))

    def request_stop(self):
        for worker in self.workers:
            worker.request_stop()

    def stop(self, timeout):
        """Join the workers (the recorder has closed its last segment); names of the stuck."""
        return [w.name for w in self.workers if not w.stop(timeout)]

    def summary(self):
        figures = {"folder": self.folder}
        if self.unavailable:
            figures["unavailable"] = self.unavailable
        if self.recorder is not None:
            figures.update(self.recorder.summary())
        if self.retention is not None:
            figures["retention"] = self.retention.summary()
        return figures


def build_recording(config, store, submit, paths, uri, fps, open_reader, clock, wall_clock,
                    board=None, speed=None):
    """A ``Recording`` for ``config.recording``, or None when it is disabled.

    ``paths``: the store and the recordings folder (``paths.data_paths``);
    ``submit``: the event logger's; ``open_reader()``: a new ``StoreReader`` on
    the store; ``fps``: the source's nominal rate (keyframe distance);
    ``board``: the ``dashcam.board.Board`` (read when None), for the encoder; ``speed()``:
    the GPS speed in km/h or None, for ``[recording] stamp`` (None: no GPS). A folder
    of another store (``owner.claim``) and a quota or reserve that the volume
    cannot meet (``retention.check_bounds``) are refused here, before any start.
    """
    section = config.recording
    if not section.enabled:
        return None
    folder = paths.recordings
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise RecordingError("cannot create recordings folder {}: {} (set --recordings or "
                             "[recording] path)".format(folder, error.strerror or error))
    segment_bytes = int(section.bitrate * 125 * section.segment_seconds)
    quota, reserve, warning = check_bounds(volume(folder)[0], section.quota, section.reserve,
                                           segment_bytes, folder)
    if warning:
        log.warning("%s", warning)
    claim(folder, store.path, indexed_segment_paths(store.conn))
    RecordingIndex().register(store)
    keeper = ClipKeeper(parse_clips(section.clips, section.pre_roll, section.post_roll))

    def clip_requests(item):
        for request in keeper.requests(*item):
            submit(request)

    store_volume, _ = volume(os.path.dirname(os.path.abspath(paths.db)))
    store_max_bytes = to_bytes(section.store_max_size, store_volume)
    pruning = section.detections_max_age or store_max_bytes
    retention = RetentionWorker(
        folder, open_reader, submit, quota=quota, reserve=reserve, segment_bytes=segment_bytes,
        max_age=section.max_age * 86400.0,
        detections_max_age=section.detections_max_age * 86400.0,
        store_max_bytes=store_max_bytes, store_room=store.room_bytes if pruning else 0,
        wall_clock=wall_clock)
    store.when_short(retention.wake)
    subscribers = [Subscriber("clips", clip_requests, clock=clock),
                   SnapshotWorker(folder, open_reader, submit, wanted(section.snapshots),
                                  section.snapshot_width, wait_s=3 * section.segment_seconds + 5,
                                  clock=clock)]
    nvenc = element_properties("nvv4l2h264enc") if section.encoder != "software" else set()
    kind = choose_encoder(section.encoder, uri, bool(nvenc), board or read_board())
    try:
        encoder = make_encoder(kind, folder, section, fps, nvenc, speed)
    except RecordingError as error:
        log.error("recording unavailable: %s; the dashcam runs without video", error)
        return Recording(folder, None, retention, subscribers[:1], unavailable=str(error))
    log.info("recording to %s with %s (%s)", folder, encoder.name, kind)

    def recovery(run_id):
        """What the runs before ``run_id`` left: unindexed segments, then their events'
        missing clips."""
        with open_reader() as reader:
            indexed = indexed_segment_paths(reader.conn)
            runs = run_ids(reader.conn)
            unclipped = [(r[0], r[1], parse_iso(r[2]), parse_iso(r[3]) if r[3] else None)
                         for r in unclipped_events(reader.conn, run_id)]
        records, events = recover(folder, indexed, runs, wall_clock(),
                                  skip=(run_folder(run_id),))
        return records + catch_up(unclipped, keeper.policy), events

    recorder = RecorderWorker(encoder, folder, submit, recovery,
                              segment_bytes=segment_bytes, check_room=retention.wake,
                              queue_size=section.queue_size,
                              clock=clock, wall_clock=wall_clock)
    return Recording(folder, recorder, retention, subscribers)
