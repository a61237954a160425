"""A clip's stamp as a subtitle track: 3GPP timed text (``mov_text``, ``tx3g``) in the MP4.

Players (VLC, mpv, QuickTime, browsers) show it over the picture and can hide
it; the recorded pixels stay as they were. A ``tx3g`` sample is the text's
length (16 bits, big-endian) and its UTF-8 bytes (3GPP TS 26.245, 5.17), so
the cues are muxed as packets of their own: no subtitle encoder is opened
(FFmpeg's needs an ASS header that PyAV cannot pass). PyAV 17 added
``add_mux_stream`` for such a stream; with an older PyAV (the last for Python
3.8 is 12) the cues go in by the ``ffmpeg`` program, copying every stream;
with neither, the clip is written without the track (the video is the
evidence; the stamp is not worth losing it) and a warning says how to get it.
"""

import logging
import os
import struct
import subprocess
import tempfile
from fractions import Fraction

from dashcam.errors import RecordingError

log = logging.getLogger(__name__)

NO_TRACK = ("%s is written without its subtitle stamp: this PyAV (before 17) cannot mux one "
            "and there is no ffmpeg program (apt install ffmpeg, or pip install 'av>=17')")
MS = Fraction(1, 1000)


def can_mux(av):
    """Whether this PyAV muxes subtitle packets itself (17 and later)."""
    return hasattr(av.container.OutputContainer, "add_mux_stream")


def add_track(output):
    """A ``mov_text`` stream on ``output`` (an MP4 not yet started), in milliseconds."""
    stream = output.add_mux_stream("mov_text")
    stream.time_base = MS
    stream.metadata["handler_name"] = "dashcam stamp"
    return stream


def sample(text):
    """``text`` as one ``tx3g`` sample."""
    data = text.encode("utf-8")[:0xFFFF]
    return struct.pack(">H", len(data)) + data


def mux_cues(av, output, stream, cues, t0):
    """Mux ``cues`` (``stamp.Cue``) into ``stream`` on a timeline where 0 is ``t0`` (UTC)."""
    for cue in cues:
        begin = int(round((cue.start - t0) * 1000))
        packet = av.Packet(sample(cue.text))
        packet.pts = packet.dts = begin
        packet.duration = max(1, int(round((cue.end - t0) * 1000)) - begin)
        packet.time_base = MS
        packet.stream = stream
        output.mux(packet)


def srt(cues, t0):
    """``cues`` as SubRip text, on the timeline where 0 is ``t0``."""
    def at(t):
        ms = max(0, int(round((t - t0) * 1000)))
        return "{:02d}:{:02d}:{:02d},{:03d}".format(ms // 3600000, ms // 60000 % 60,
                                                    ms // 1000 % 60, ms % 1000)
    return "".join(f"{n}\n{at(c.start)} --> {at(c.end)}\n{c.text}\n\n"
                   for n, c in enumerate(cues, 1))


def mux_with_ffmpeg(video_path, cues, t0, out_path, ffmpeg):
    """Write ``out_path``: ``video_path``'s streams copied and ``cues`` as a ``mov_text``
    track, by the ``ffmpeg`` program at path ``ffmpeg`` (for a PyAV without
    ``add_mux_stream``). RecordingError in one line when it fails."""
    handle, subtitles = tempfile.mkstemp(suffix=".srt", dir=os.path.dirname(out_path) or ".")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as text:
            text.write(srt(cues, t0))
        result = subprocess.run(
            [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", video_path, "-i", subtitles,
             "-map", "0", "-map", "1", "-c", "copy", "-c:s", "mov_text",
             "-metadata:s:s:0", "handler_name=dashcam stamp", "-f", "mp4", out_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    finally:
        os.remove(subtitles)
    if result.returncode != 0:
        raise RecordingError("ffmpeg could not add the subtitle stamp to {}: {}".format(
            out_path, (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]))
