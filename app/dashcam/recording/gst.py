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
                   "idrinterval={keyint} insert-sps-pps=true",
    },
    "standin": {
        "to_encoder": "videoconvert ! video/x-raw, format=(string)I420",
        "encoder": "x264enc tune=zerolatency speed-preset=ultrafast bitrate={kbps} "
                   "key-int-max={keyint}",
    },
}
NAME = "gst-%05d" + SUFFIX
_INDEX = re.compile(r"^gst-(\d+)\.ts$")
CLOSED = "splitmuxsink-fragment-closed"


def record_branch(location, segment_s, bitrate, keyint, platform="jetson", start_index=0):
    """Encoder and segment sink, from raw video in the camera's memory to ``location``
    (a printf pattern such as ``.../gst-%05d.ts``)."""
    parts = ELEMENTS[platform]
    encoder = parts["encoder"].format(bps=int(bitrate) * 1000, kbps=int(bitrate),
                                      keyint=int(keyint))
    return ("{} ! {} ! h264parse ! splitmuxsink name=rec muxer=mpegtsmux location={} "
            "max-size-time={:d} send-keyframe-requests=true start-index={:d}".format(
                parts["to_encoder"], encoder, location, int(segment_s * 1e9), int(start_index)))


def tee(branch):
    """The fragment that the CSI capture pipeline (``capture.csi_pipeline(tee=...)``) puts
    between the camera's caps and its conversion for the appsink: ``branch`` records, and
    a leaky queue keeps a slow reader from ever stalling the encoder."""
    return "tee name=t t. ! queue ! {} t. ! queue leaky=downstream max-size-buffers=1".format(
        branch)


def appsrc_pipeline(width, height, fps, branch):
    """Captured BGR frames (pushed by Python) into ``branch``."""
    return ("appsrc name=src is-live=true format=time caps=video/x-raw,format=BGR,"
            "width={},height={},framerate={}/1 ! queue ! videoconvert ! {}".format(
                int(width), int(height), int(round(fps)), branch))


def next_index(folder):
    """The index after the highest ``gst-NNNNN.ts`` in ``folder`` (0 when none)."""
    found = [int(m.group(1)) for m in (_INDEX.match(n) for n in _listing(folder)) if m]
    return max(found) + 1 if found else 0


def _listing(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


class TeeEncoder:
    """The CSI tee branch (``branch()`` goes into the capture pipeline); segments are
    indexed as the next one appears, and the last at the close."""

    name = "nvv4l2h264enc (tee)"
    takes_frames = False

    def __init__(self, folder, segment_seconds=5.0, bitrate=4000, keyframe_interval=1.0,
                 fps=30.0, platform="jetson"):
        self.folder, self.segment_seconds, self.bitrate = folder, segment_seconds, bitrate
        self.keyint = max(1, int(round(keyframe_interval * fps)))
        self.platform = platform
        self.run_id = None
        self._done = set()

    @property
    def run_dir(self):
        return os.path.join(self.folder, run_folder(self.run_id))

    def branch(self):
        """The recording branch for a (re)opened camera: numbering goes on after the files
        already there, so a reopened pipeline never overwrites a segment."""
        os.makedirs(self.run_dir, exist_ok=True)
        return record_branch(os.path.join(self.run_dir, NAME), self.segment_seconds,
                             self.bitrate, self.keyint, self.platform, next_index(self.run_dir))

    def tee(self):
        """``tee(branch())``: what ``capture.open_source(tee=...)`` calls at each opening."""
        return tee(self.branch())

    def write(self, frame):
        raise RecordingError("the tee encoder records inside the capture pipeline")

    def poll(self, now, final=False):
        names = sorted(n for n in _listing(self.run_dir) if _INDEX.match(n))
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
                 fps=30.0, platform="jetson", wall_clock=time.time):
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
        self.tee = TeeEncoder(folder, segment_seconds, bitrate, keyframe_interval, fps, platform)
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
                location = structure.get_value("location")
                ended = self._t0[1] + structure.get_value("running-time") / 1e9
                path = os.path.relpath(location, self.folder).replace(os.sep, "/")
                self.tee._done.add(os.path.basename(location))
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
