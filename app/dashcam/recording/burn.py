"""``dashcam clip --burn-in``: the clip re-encoded with its stamp drawn into the picture.

For a viewer that shows no subtitles (a messenger, a web form, a phone's
gallery). Each decoded frame gets the strip of the cue shown at its time
(``stamp.draw_strip`` on the 4:2:0 picture as decoded: no colour conversion);
every other pixel is only re-encoded, at a quality (``crf`` 18) that keeps
it close to the recording. The output has no subtitle track: the stamp is in
the picture, and a second copy over it would hide it.
"""

from fractions import Fraction

from dashcam.recording.stamp import cue_at, draw_strip

CRF = 18           # x264's "visually lossless" end: the evidence should not lose detail
PRESET = "veryfast"


def burn_in(av, in_path, out_path, container, cues, t0):
    """Re-encode ``in_path``'s video into ``out_path`` (muxer ``container``) with the text
    of ``cues`` (``stamp.Cue``, UTC) drawn at the bottom; ``t0``: the UTC time of
    ``in_path``'s time 0. Returns the number of frames written."""
    starts = [cue.start for cue in cues]
    source = av.open(in_path)
    try:
        output = av.open(out_path, "w", format=container)
        try:
            video = source.streams.video[0]
            width, height = video.codec_context.width, video.codec_context.height
            stream = output.add_stream("libx264", rate=video.average_rate or Fraction(30))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = video.time_base
            stream.codec_context.options = {"preset": PRESET, "crf": str(CRF)}
            frames = 0
            for frame in source.decode(video):
                picture = frame.to_ndarray(format="yuv420p")
                text = cue_at(cues, starts, t0 + float(frame.pts * video.time_base))
                if text:
                    draw_strip(picture, width, height, text)
                stamped = av.VideoFrame.from_ndarray(picture, format="yuv420p")
                stamped.pts, stamped.time_base = frame.pts, video.time_base
                for packet in stream.encode(stamped):
                    output.mux(packet)
                frames += 1
            for packet in stream.encode():
                output.mux(packet)
        finally:
            output.close()
    finally:
        source.close()
    return frames
