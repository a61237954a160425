"""The software encoder: PyAV's libx264 into MPEG-TS segments, in the recorder's thread.

Each segment is a fresh encoder and a fresh file, so it starts on a keyframe
and depends on nothing before it: a segment cut by a power cut cannot spoil
the next. ``tune=zerolatency`` keeps x264 from holding frames back (no
lookahead, no B-frames): each frame is in the file as soon as it is encoded
(``flush_packets``), so a kill loses at most the frame being written, and the
file is synced to the card once a second and at its close, so a power cut
loses at most about a second. Frames carry their capture times (90 kHz), so
a dropped frame is a gap in time, not a shift of everything after it.

The encoder is the default off-Jetson and on the Orin Nano (no NVENC).
libx264 ``ultrafast`` at 1080p30 takes about 43 % of one core of an x86
laptop; a Jetson's ARM cores are slower, which is why the hardware path
exists.
"""

import errno
import logging
import os
from fractions import Fraction

import cv2

from dashcam.errors import RecordingError
from dashcam.recording.segments import SegmentClosed, segment_name
from dashcam.recording.stamp import draw_strip
from dashcam.recording.tsprobe import PTS_HZ

log = logging.getLogger(__name__)

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
SYNC_EVERY_S = 1.0


def import_av():
    """PyAV, or a RecordingError that says how to get it or what to use instead."""
    try:
        import av
    except ImportError:
        raise RecordingError(
            "software recording needs PyAV (`pip install av`; it has no wheel for Python 3.6 "
            "or 3.7): install it, use [recording] encoder = hardware on a Jetson with NVENC, "
            "or set [recording] enabled = false")
    return av


def even(n):
    return max(2, int(n) // 2 * 2)


def output_size(source_w, source_h, width=0, height=0):
    """The encoded size: the source's unless ``width``/``height`` are set (0 keeps the aspect
    from the other one), made even (4:2:0 chroma needs it)."""
    if width and height:
        return even(width), even(height)
    if width:
        return even(width), even(source_h * width / float(source_w))
    if height:
        return even(source_w * height / float(source_h)), even(height)
    return even(source_w), even(source_h)


class SoftwareEncoder:
    """Writes frames into segments of ``segment_seconds`` under ``folder`` for run ``run_id``.

    ``width``/``height``: 0 keeps the source's; ``bitrate`` in kbit/s (4000 by
    default, about 1.8 GB an hour); ``keyframe_interval`` in seconds (a clip is
    trimmed to keyframes); ``fps`` is the nominal rate, for the keyframe
    distance. ``stamp``: None, or a function of a frame's UTC time that gives the
    text drawn into the bottom strip of what is recorded (``stamp.draw_strip``;
    the captured image is not touched). ``write(frame)`` returns the segments it
    closed (``SegmentClosed``).
    """

    name = "libx264"
    takes_frames = True

    def __init__(self, folder, segment_seconds=5.0, width=0, height=0, bitrate=4000,
                 keyframe_interval=1.0, preset="ultrafast", fps=30.0, threads=0, stamp=None):
        self.av = import_av()
        self.folder = folder
        self.run_id = None
        self.segment_seconds = segment_seconds
        self.width, self.height = width, height
        self.bitrate, self.keyframe_interval = bitrate, keyframe_interval
        self.preset, self.fps, self.threads = preset, fps, threads
        self.stamp = stamp
        self._open = None   # the segment being written (_Segment)

    @property
    def current_path(self):
        return self._open.path if self._open else None

    def write(self, frame):
        """Encode ``frame`` (a ``records.Frame``); returns the segments this closed."""
        closed = []
        size = output_size(frame.image.shape[1], frame.image.shape[0], self.width, self.height)
        current = self._open
        if current is not None and (frame.t_mono - current.t0_mono >= self.segment_seconds
                                    or size != current.size):
            closed.append(self._close(frame.t_utc))
        if self._open is None:
            self._open = self._start(frame, size)
        self._open.add(frame, self._yuv(frame, size))
        return closed

    def poll(self, now):
        """Close the open segment once no frame came for ``segment_seconds`` (``now``:
        the frames' monotonic clock): a lost camera leaves no segment open and unindexed."""
        current = self._open
        if current is not None and current.last_mono is not None and \
                now - current.last_mono >= self.segment_seconds:
            return [self._close(None)]
        return []

    def close(self):
        """Close the open segment (at the stop); returns it, if any."""
        return [self._close(None)] if self._open is not None else []

    def abort(self):
        """After a write failed (a full disk): give up the open segment as it is on disk;
        its relative path (for recovery), or None."""
        current, self._open = self._open, None
        if current is None:
            return None
        current.abandon()
        return current.path

    def _yuv(self, frame, size):
        image = frame.image
        if (image.shape[1], image.shape[0]) != size:
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        if self.stamp is not None:
            # drawn on the converted copy, where only the strip's rows are touched
            draw_strip(yuv, size[0], size[1], self.stamp(frame.t_utc))
        return yuv

    def _start(self, frame, size):
        path = segment_name(self.run_id, frame.t_utc)
        os.makedirs(os.path.dirname(os.path.join(self.folder, path)), exist_ok=True)
        keyint = max(1, int(round(self.keyframe_interval * self.fps)))
        options = {"preset": self.preset, "tune": "zerolatency",
                   "x264-params": "keyint={0}:min-keyint={0}:scenecut=0".format(keyint)}
        if self.threads:
            options["threads"] = str(self.threads)
        return _Segment(self.av, self.folder, path, frame, size, self.bitrate, self.fps, options)

    def _close(self, next_t_utc):
        current, self._open = self._open, None
        return current.finish(next_t_utc, self.name)._replace(run_id=self.run_id)


class _Segment:
    """One open segment: its container, its encoder and what went into it."""

    def __init__(self, av, folder, path, frame, size, bitrate, fps, options):
        self.av, self.path, self.size = av, path, size
        self.full = os.path.join(folder, path)
        self.t0_mono, self.t0_utc = frame.t_mono, frame.t_utc
        self.last_mono = self.last_utc = None
        self.frames = 0
        self.steps = []
        # a descriptor of our own, for fsync: the muxer's is out of reach
        self._fd = os.open(self.full, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            self.container = av.open(self.full, "w", format="mpegts",
                                     container_options={"flush_packets": "1"})
        except BaseException:
            os.close(self._fd)
            raise
        try:
            self.stream = self.container.add_stream(
                "libx264", rate=Fraction(fps).limit_denominator(1001))
            self.stream.width, self.stream.height = size
            self.stream.pix_fmt = "yuv420p"
            self.stream.bit_rate = int(bitrate) * 1000
            self.stream.codec_context.time_base = Fraction(1, PTS_HZ)
            self.stream.codec_context.options = options
        except BaseException:
            self.container.close()
            os.close(self._fd)
            raise
        self._synced = frame.t_mono
        self._pts = -1

    def add(self, frame, yuv):
        picture = self.av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        # capture time, strictly increasing (two frames stamped alike still need two ticks)
        self._pts = max(self._pts + 1, int(round((frame.t_mono - self.t0_mono) * PTS_HZ)))
        picture.pts = self._pts
        picture.time_base = Fraction(1, PTS_HZ)
        for packet in self.stream.encode(picture):
            self.container.mux(packet)
        if self.last_mono is not None:
            self.steps.append(frame.t_mono - self.last_mono)
        self.last_mono, self.last_utc = frame.t_mono, frame.t_utc
        self.frames += 1
        if frame.t_mono - self._synced >= SYNC_EVERY_S:
            os.fsync(self._fd)
            self._synced = frame.t_mono

    def finish(self, next_t_utc, encoder):
        """Flush, close and sync; the ``SegmentClosed`` record. It ends where the next
        segment starts (``next_t_utc``), else one frame interval after its last frame."""
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()
        os.fsync(self._fd)
        os.close(self._fd)
        if next_t_utc is None:
            steps = sorted(self.steps)
            next_t_utc = self.last_utc + (steps[len(steps) // 2] if steps else 1.0 / 30)
        return SegmentClosed(self.path, None, self.t0_utc, next_t_utc, self.frames,
                             os.path.getsize(self.full), self.size[0], self.size[1], encoder,
                             False)

    def abandon(self):
        try:
            self.container.close()
        except OSError as error:   # the disk that failed the write fails this too
            if getattr(error, "errno", None) not in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
                log.warning("recording %s: closing after a failed write: %s", self.path, error)
        os.close(self._fd)
