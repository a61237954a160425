"""The Jetson hardware encoder: GStreamer pipelines into ``nvv4l2h264enc`` and ``splitmuxsink``.

Two ways in, one way out (H.264 from NVENC, split by ``splitmuxsink`` into
MPEG-TS segments by ``mpegtsmux``, keyframe-aligned: it asks the encoder for a
keyframe at each split):

* ``csi://``: a ``tee`` branch of the capture pipeline itself
  (``tee(record_branch(...))``), so the frames to record never reach Python. OpenCV runs
  that pipeline and its bus is out of reach, so ``TeeEncoder`` learns that a
  segment closed when the next one appears in the folder.
* USB cameras, files, anything else: an ``appsrc`` pipeline fed the captured
  frames (``AppsrcEncoder``, PyGObject), which learns of each closed segment
  from splitmuxsink's ``splitmuxsink-fragment-closed`` bus message.

``ELEMENTS`` names the elements per platform; ``standin`` swaps NVIDIA's for
Debian GStreamer's (``videotestsrc``, ``videoconvert``, ``x264enc``), so the
same strings run in the tests on a machine without a Jetson, with the real
``splitmuxsink`` and ``mpegtsmux``.
"""

import logging
import os
import re
import time

from dashcam.errors import RecordingError
from dashcam.recording.segments import SUFFIX, closed_from_file, run_folder

log = logging.getLogger(__name__)

ELEMENTS = {
    "jetson": {
        "to_encoder": "nvvidconv ! video/x-raw(memory:NVMM), format=(string)NV12",
        "encoder": "nvv4l2h264enc bitrate={bps} control-rate=1 iframeinterval={keyint} "
                   "insert-sps-pps=true",
        "idr": " idrinterval={keyint}",
    },
    "standin": {
        "to_encoder": "videoconvert ! video/x-raw, format=(string)I420",
        "encoder": "x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} "
                   "key-int-max={keyint}",
        "idr": "",
    },
}
# Segment files: gst-<opening>-<index>.ts. Each opening of the pipeline (a reopened camera,
# a resumed recording) numbers its own files from 0, so none can overwrite another's;
# splitmuxsink's start-index, which would do it with one counter, is GStreamer 1.18+.
NAME = "gst-{:04d}-%05d" + SUFFIX
_NAME = re.compile(r"^gst-(\d+)-(\d+)\.ts$")
CLOSED = "splitmuxsink-fragment-closed"
# appsrc holds at most this many frames for an encoder that falls behind; then
# push-buffer blocks the recorder's thread, whose own queue drops frames instead.
QUEUED_FRAMES = 2


def quote(text):
    """``text`` as one value of a pipeline description: quoted, so that a space or a ``!``
    in a folder name stays in it (gst_parse_launch unescapes ``\\`` and ``\"`` within)."""
    return '"{}"'.format(text.replace("\\", "\\\\").replace('"', '\\"'))


def location(folder, opening):
    """splitmuxsink's location for opening ``opening`` under ``folder``: a printf pattern,
    so a ``%`` in the folder is doubled."""
    return os.path.join(folder.replace("%", "%%"), NAME.format(int(opening)))


def record_branch(pattern, segment_s, bitrate, keyint, platform="jetson", idr=True):
    """Encoder and segment sink, from raw video in the camera's memory to the files of
    ``pattern`` (a printf pattern, see ``location()``). ``idr``: the encoder has ``idrinterval``
    (``element_properties``), so that every keyframe is an IDR frame; h264parse
    repeats SPS/PPS before each keyframe either way, so every segment decodes alone."""
    parts = ELEMENTS[platform]
    encoder = parts["encoder"] + (parts["idr"] if idr else "")
    encoder = encoder.format(bps=int(bitrate) * 1000, kbps=int(bitrate), keyint=int(keyint))
    return ("{} ! {} ! h264parse config-interval=-1 ! splitmuxsink name=rec muxer=mpegtsmux "
            "location={} max-size-time={:d} send-keyframe-requests=true".format(
                parts["to_encoder"], encoder, quote(pattern), int(segment_s * 1e9)))


def tee(branch):
    """The fragment that the CSI capture pipeline (``capture.csi_pipeline(tee=...)``) puts
    after the camera's flip and before its scaling for the appsink: ``branch`` records the
    full-resolution frames, and a leaky queue keeps a slow reader from stalling the encoder."""
    return "tee name=t t. ! queue ! {} t. ! queue leaky=downstream max-size-buffers=1".format(
        branch)


def appsrc_pipeline(width, height, fps, branch):
    """Captured BGR frames (pushed by Python) into ``branch``; ``push-buffer`` blocks once
    ``QUEUED_FRAMES`` frames wait (appsrc's queue is unbounded otherwise)."""
    return ("appsrc name=src is-live=true format=time block=true max-bytes={} "
            "caps=video/x-raw,format=BGR,width={},height={},framerate={}/1 ! queue ! "
            "videoconvert ! {}".format(QUEUED_FRAMES * int(width) * int(height) * 3, int(width),
                                       int(height), int(round(fps)), branch))


def segment_order(name):
    """``(opening, index)`` of a segment file's name, or None for another file."""
    match = _NAME.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _listing(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


class TeeEncoder:
    """The CSI tee branch (``branch()`` goes into the capture pipeline); segments are
    indexed as the next one appears, and the last at the close.

    ``idr``: whether the encoder element has ``idrinterval`` (see ``record_branch``).
    """

    name = "nvv4l2h264enc (tee)"
    takes_frames = False

    def __init__(self, folder, segment_seconds=5.0, bitrate=4000, keyframe_interval=1.0,
                 fps=30.0, platform="jetson", idr=True):
        self.folder, self.segment_seconds, self.bitrate = folder, segment_seconds, bitrate
        self.keyint = max(1, int(round(keyframe_interval * fps)))
        self.platform, self.idr = platform, idr
        self.run_id = None
        self.openings = 0
        self._done = set()

    @property
    def run_dir(self):
        return os.path.join(self.folder, run_folder(self.run_id))

    def branch(self):
        """The recording branch for a (re)opened pipeline, writing files of its own."""
        os.makedirs(self.run_dir, exist_ok=True)
        self.openings += 1
        return record_branch(location(self.run_dir, self.openings), self.segment_seconds,
                             self.bitrate, self.keyint, self.platform, self.idr)

    def tee(self):
        """``tee(branch())``: what ``capture.open_source(tee=...)`` calls at each opening."""
        return tee(self.branch())

    def write(self, frame):
        raise RecordingError("the tee encoder records inside the capture pipeline")

    def poll(self, now, final=False):
        names = sorted((n for n in _listing(self.run_dir) if segment_order(n)), key=segment_order)
        closed = []
        for name in names if final else names[:-1]:
            if name not in self._done:
                self._done.add(name)
                record = closed_from_file(self.folder, run_folder(self.run_id) + "/" + name,
                                          self.run_id, self.name)
                closed.extend([record] if record else [])
        return closed

    def close(self):
        return self.poll(None, final=True)

    def abort(self):
        return None


class AppsrcEncoder:
    """Captured frames pushed into ``nvv4l2h264enc`` through ``appsrc`` (PyGObject)."""

    name = "nvv4l2h264enc (appsrc)"
    takes_frames = True

    def __init__(self, folder, segment_seconds=5.0, bitrate=4000, keyframe_interval=1.0,
                 fps=30.0, platform="jetson", idr=True, wall_clock=time.time):
        try:
            import gi
            gi.require_version("Gst", "1.0")
            from gi.repository import Gst
        except (ImportError, ValueError):
            raise RecordingError("hardware recording of this source needs PyGObject with "
                                 "GStreamer (`sudo apt install python3-gi gir1.2-gstreamer-1.0`"
                                 "; in a venv: --system-site-packages)")
        Gst.init(None)
        self.Gst = Gst
        self.tee = TeeEncoder(folder, segment_seconds, bitrate, keyframe_interval, fps, platform,
                              idr)
        self.folder, self.fps, self.wall_clock = folder, fps, wall_clock
        self.run_id = None
        self.pipeline = self.src = None
        self._t0 = None

    def write(self, frame):
        if self.pipeline is None:
            self._start(frame)
        Gst = self.Gst
        buffer = Gst.Buffer.new_wrapped(frame.image.tobytes())
        buffer.pts = int((frame.t_mono - self._t0[0]) * Gst.SECOND)
        buffer.duration = int(Gst.SECOND / self.fps)
        if self.src.emit("push-buffer", buffer) != Gst.FlowReturn.OK:
            raise RecordingError("the recording pipeline refused a frame (see the log)")
        return self.poll(frame.t_mono)

    def _start(self, frame):
        self.tee.run_id = self.run_id
        height, width = frame.image.shape[:2]
        text = appsrc_pipeline(width, height, self.fps, self.tee.branch())
        log.info("recording pipeline: %s", text)
        self.pipeline = self.Gst.parse_launch(text)
        self.src = self.pipeline.get_by_name("src")
        self._t0 = (frame.t_mono, frame.t_utc)
        self.pipeline.set_state(self.Gst.State.PLAYING)

    def poll(self, now, timeout=0):
        """Segments that splitmuxsink reported closed (its bus messages)."""
        closed = []
        Gst = self.Gst
        bus = self.pipeline.get_bus() if self.pipeline else None
        while bus is not None:
            message = bus.timed_pop_filtered(
                timeout, Gst.MessageType.ELEMENT | Gst.MessageType.ERROR | Gst.MessageType.EOS)
            if message is None or message.type == Gst.MessageType.EOS:
                break
            if message.type == Gst.MessageType.ERROR:
                error, _ = message.parse_error()
                raise OSError(f"recording pipeline: {error.message}")
            structure = message.get_structure()
            if structure is not None and structure.get_name() == CLOSED:
                written = structure.get_value("location")
                ended = self._t0[1] + structure.get_value("running-time") / 1e9
                path = os.path.relpath(written, self.folder).replace(os.sep, "/")
                self.tee._done.add(os.path.basename(written))
                record = closed_from_file(self.folder, path, self.run_id, self.name, ended)
                closed.extend([record] if record else [])
        return closed

    def close(self):
        """End of stream: splitmuxsink closes the last segment; its message is awaited."""
        if self.pipeline is None:
            return []
        self.src.emit("end-of-stream")
        closed = self.poll(None, timeout=3 * self.Gst.SECOND)
        self.pipeline.set_state(self.Gst.State.NULL)
        self.pipeline = None
        return closed

    def abort(self):
        if self.pipeline is not None:
            self.pipeline.set_state(self.Gst.State.NULL)
            self.pipeline = None
        return None
