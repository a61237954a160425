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
import shutil
import subprocess

from dashcam import events as ev
from dashcam.errors import RecordingError
from dashcam.fanout import Subscriber
from dashcam.recording.clips import ClipKeeper, catch_up, parse_clips
from dashcam.recording.index import RecordingIndex
from dashcam.recording.owner import claim
from dashcam.recording.recorder import RecorderWorker
from dashcam.recording.retention import RetentionWorker, check_bounds, to_bytes, volume
from dashcam.recording.segments import recover, run_folder
from dashcam.recording.snapshots import SnapshotWorker, wanted
from dashcam.store import indexed_segment_paths, run_ids, unclipped_events
from dashcam.timestamps import parse_iso

log = logging.getLogger(__name__)

ENCODERS = ("auto", "software", "hardware")
MODEL_FILE = "/proc/device-tree/model"


def recordings_dir(config, db_path):
    """``[recording] path``, else ``recordings/`` beside the store (the data folder)."""
    return config.path(config.recording.path) or os.path.join(
        os.path.dirname(os.path.abspath(db_path)), "recordings")


def choose_encoder(setting, uri, has_nvenc, model=""):
    """``"software"``, ``"tee"`` (CSI on NVENC) or ``"appsrc"`` (other sources on NVENC).

    ``auto``: NVENC where GStreamer has ``nvv4l2h264enc``, except on the Orin
    Nano, which has no hardware encoder (``model``: the device tree's model).
    """
    hardware = setting == "hardware" or (setting == "auto" and has_nvenc
                                         and "orin nano" not in model.lower())
    if not hardware:
        return "software"
    return "tee" if uri.lower().startswith("csi://") else "appsrc"


def nvenc_present():
    """Whether this machine's GStreamer has NVIDIA's H.264 encoder element."""
    inspect = shutil.which("gst-inspect-1.0")
    if not inspect:
        return False
    return subprocess.call([inspect, "--exists", "nvv4l2h264enc"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) == 0


def device_model():
    try:
        with open(MODEL_FILE) as handle:
            return handle.read().strip("\0\n ")
    except OSError:
        return ""


def make_encoder(kind, folder, section, fps):
    from dashcam.recording.gst import AppsrcEncoder, TeeEncoder
    from dashcam.recording.software import SoftwareEncoder
    common = dict(segment_seconds=section.segment_seconds, bitrate=section.bitrate,
                  keyframe_interval=section.keyframe_interval, fps=fps)
    if kind == "software":
        return SoftwareEncoder(folder, width=section.width, height=section.height,
                               preset=section.preset, threads=section.threads, **common)
    return (TeeEncoder if kind == "tee" else AppsrcEncoder)(folder, **common)


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

    def begin(self, run_id, submit, t_utc):
        if self.recorder is not None:
            self.recorder.run_id = run_id
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


def build_recording(config, store, submit, folder, uri, fps, open_reader, clock, wall_clock):
    """A ``Recording`` for ``config.recording`` into ``folder``, or None when it is disabled.

    ``submit``: the event logger's; ``open_reader()``: a new ``StoreReader`` on
    the store; ``fps``: the source's nominal rate (keyframe distance). A folder
    of another store (``owner.claim``) and a quota or reserve that the volume
    cannot meet (``retention.check_bounds``) are refused here, before any start.
    """
    section = config.recording
    if not section.enabled:
        return None
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

    store_volume, _ = volume(os.path.dirname(os.path.abspath(store.path)))
    retention = RetentionWorker(
        folder, open_reader, submit, quota=quota, reserve=reserve, segment_bytes=segment_bytes,
        max_age=section.max_age * 86400.0,
        detections_max_age=section.detections_max_age * 86400.0,
        store_max_bytes=to_bytes(section.store_max_size, store_volume), wall_clock=wall_clock)
    subscribers = [Subscriber("clips", clip_requests, clock=clock),
                   SnapshotWorker(folder, open_reader, submit, wanted(section.snapshots),
                                  section.snapshot_width, wait_s=3 * section.segment_seconds + 5,
                                  clock=clock)]
    kind = choose_encoder(section.encoder, uri, section.encoder != "software" and nvenc_present(),
                          device_model())
    try:
        encoder = make_encoder(kind, folder, section, fps)
    except RecordingError as error:
        log.error("recording unavailable: %s; the dashcam runs without video", error)
        return Recording(folder, None, retention, subscribers[:1], unavailable=str(error))
    log.info("recording to %s with %s (%s)", folder, encoder.name, kind)

    def recovery():
        """What the last run left: unindexed segments, then its events' missing clips."""
        with open_reader() as reader:
            indexed = indexed_segment_paths(reader.conn)
            runs = run_ids(reader.conn)
            unclipped = [(r[0], r[1], parse_iso(r[2]), parse_iso(r[3]) if r[3] else None)
                         for r in unclipped_events(reader.conn, recorder.run_id)]
        records, events = recover(folder, indexed, runs, wall_clock(),
                                  skip=(run_folder(recorder.run_id),))
        return records + catch_up(unclipped, keeper.policy), events

    recorder = RecorderWorker(encoder, folder, submit, recovery,
                              segment_bytes=segment_bytes, check_room=retention.wake,
                              queue_size=section.queue_size,
                              clock=clock, wall_clock=wall_clock)
    return Recording(folder, recorder, retention, subscribers)
