"""Joining an event's clip into one MP4, by remuxing (no re-encode), trimmed to its window.

``write_clip(reader, event_id, out_path, recordings_dir)`` is the library
entry point (``dashcam clip`` and export call it). The packets of the clip's
segments are copied in order onto one timeline made from each segment's
start time, from the last keyframe at or before the window's start (so the
first frame decodes) to the window's end. The MP4 is written beside
``out_path`` and renamed into place when complete: a reader never sees half
a clip.

While segments are read they are held (``hold``: a shared ``flock`` on each
file); retention deletes a file only under an exclusive one it gets without
waiting (``try_delete``), so a segment being joined or exported is never
deleted under its reader.
"""

import contextlib
import errno
import fcntl
import logging
import os
import shutil
from collections import namedtuple
from fractions import Fraction

from dashcam.errors import RecordingError
from dashcam.recording.burn import burn_in as burn
from dashcam.recording.software import import_av
from dashcam.recording.stamp import EVENT_SHOW_S, MAX_FIX_AGE_S, clip_cues
from dashcam.recording.subtitles import NO_TRACK, add_track, can_mux, mux_cues, mux_with_ffmpeg
from dashcam.store import clip_segments, event_by_id
from dashcam.timestamps import iso_utc, parse_iso

log = logging.getLogger(__name__)

# What a clip can be written as, by its name's extension: PyAV's (FFmpeg's) muxer for it.
# Both take the segments' H.264 packets as they are; other containers are refused rather
# than written as an MP4 under another name.
CONTAINERS = {".mp4": "mp4", ".ts": "mpegts"}


class Clip(namedtuple("Clip", "event window_start window_end segments")):
    """An event's clip as the store has it: the event row (dict), the window (UTC epoch
    seconds; end None while open) and its segment rows (dicts, oldest first)."""

    __slots__ = ()


def find_clip(reader, event_id):
    """The ``Clip`` of event ``event_id``; RecordingError when there is none."""
    event = event_by_id(reader.db, event_id)
    if event is None:
        raise RecordingError("no event {} in {}: `dashcam events` lists the events".format(
            event_id, reader.path))
    rows = clip_segments(reader.db, event_id)
    if not rows:
        raise RecordingError(
            "event {} ({}) has no clip: no recorded segment covers it (recording was off, "
            "its video was deleted, or [recording] clips leaves out {}); `dashcam clips` "
            "lists the events that have one".format(event_id, event["type"], event["type"]))
    end = rows[0]["window_end"]
    return Clip(event, parse_iso(rows[0]["window_start"]), parse_iso(end) if end else None, rows)


def write_clip(reader, event_id, out_path, recordings_dir, stamp=True, burn_in=False,
               fixes=None):
    """Join event ``event_id``'s clip into ``out_path`` (an .mp4, or a .ts: ``CONTAINERS``);
    returns ``out_path``.

    ``reader``: a ``store.StoreReader``; ``recordings_dir``: the folder the
    segment paths are relative to. ``stamp``: an MP4 gets a subtitle track with
    the UTC time, GPS speed and position and the events at each moment
    (``stamp.clip_cues``; MPEG-TS carries no ``mov_text``, so a .ts has none).
    ``burn_in``: re-encode with the stamp drawn into the picture instead
    (``burn.burn_in``). ``fixes``: ``senses.Fix`` in time order; None reads them
    from the store. Raises ``RecordingError`` (one line) when the event has no
    clip, its video is gone, or PyAV is missing.
    """
    container = CONTAINERS.get(os.path.splitext(out_path)[1].lower())
    if container is None:
        raise RecordingError("cannot write {}: a clip is written as {} (its video as recorded, "
                             "not re-encoded); give a name ending in one of them".format(
                                 out_path, " or ".join(CONTAINERS)))
    clip = find_clip(reader, event_id)
    av = import_av()
    present = [s for s in clip.segments if os.path.isfile(os.path.join(recordings_dir, s["path"]))]
    if not present:
        raise RecordingError("the video of event {} is gone from {} ({} segments, e.g. {}): "
                             "deleted by retention or by hand".format(
                                 event_id, recordings_dir, len(clip.segments),
                                 clip.segments[0]["path"]))
    if len(present) < len(clip.segments):
        log.warning("clip of event %d: %d of its %d segments are missing; joining the rest",
                    event_id, len(clip.segments) - len(present), len(clip.segments))
    end = clip.window_end if clip.window_end is not None else parse_iso(present[-1]["ended_at"])
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise RecordingError(f"cannot write {out_path}: folder {folder} does not exist")
    partial, staged = out_path + ".part", out_path + ".join.part"
    paths = [os.path.join(recordings_dir, s["path"]) for s in present]

    def cues(t0, t_end):
        return clip_cues(t0, t_end, stored_fixes(reader, t0, t_end) if fixes is None else fixes,
                         reader.events(since=t0 - EVENT_SHOW_S, until=t_end), parse_iso)

    try:
        with hold(paths):
            track = stamp and container == "mp4" and not burn_in
            fallback = track and not can_mux(av)
            ffmpeg = shutil.which("ffmpeg") if fallback else None
            if fallback and ffmpeg is None:
                log.warning(NO_TRACK, out_path)
                track = False
            if burn_in or ffmpeg:
                frames, t0, t_end = _remux(av, present, paths, clip.window_start, end, staged,
                                           "mp4")
                if burn_in:
                    burn(av, staged, partial, container, cues(t0, t_end), t0)
                else:
                    mux_with_ffmpeg(staged, cues(t0, t_end), t0, partial, ffmpeg)
            else:
                frames, _, _ = _remux(av, present, paths, clip.window_start, end, partial,
                                      container, cues if track else None)
        os.replace(partial, out_path)
    except BaseException:
        if os.path.exists(partial):
            os.remove(partial)
        raise
    finally:
        if os.path.exists(staged):
            os.remove(staged)
    log.info("clip of event %d: %s, %d frames from %d segments (%s .. %s)", event_id, out_path,
             frames, len(present), iso_utc(clip.window_start), iso_utc(end))
    return out_path


def stored_fixes(reader, since, until):
    """The store's GPS fixes from ``MAX_FIX_AGE_S`` before ``since`` to ``until`` (the GPS
    stage's ``StoreReader.fixes``); none from a store or build without them."""
    read = getattr(reader, "fixes", None)
    return [] if read is None else list(read(since=since - MAX_FIX_AGE_S, until=until))


def _remux(av, segments, paths, start, end, out_path, container, cues=None):
    """Copy the packets of ``segments`` (rows with ``started_at``) between ``start`` and
    ``end`` (epoch seconds) into ``out_path`` (muxer ``container``); returns ``(frames
    written, UTC time of the clip's time 0, UTC time its last frame ends)``. ``cues(t0,
    t_end)``: the subtitle cues to mux beside the video (``subtitles``), or None."""
    output = av.open(out_path, "w", format=container)
    try:
        track = add_track(output) if cues is not None else None
        stream, size, t0, last_dts, written = None, None, None, None, 0
        t_prev = t_end = None
        for row, path in zip(segments, paths):
            source = av.open(path)
            try:
                video = source.streams.video[0]
                shape = (video.codec_context.width, video.codec_context.height)
                if stream is None:
                    stream, size = _stream_like(output, video), shape
                elif shape != size:
                    log.warning("clip: %s is %dx%d, the clip %dx%d; left out", row["path"],
                                shape[0], shape[1], size[0], size[1])
                    continue
                tick = float(video.time_base)
                begun, base, lead = parse_iso(row["started_at"]), None, []
                for packet in source.demux(video):
                    if packet.pts is None or packet.dts is None:
                        continue   # the demuxer's end-of-stream flush
                    base = packet.pts if base is None else base
                    t = begun + (packet.pts - base) * tick
                    if t > end + 1e-6:
                        break
                    if t < start - 1e-6 and t0 is None:
                        lead = [packet] if packet.is_keyframe else lead + [packet]
                        continue
                    if t0 is None:
                        lead = [] if packet.is_keyframe else lead   # it starts right here
                        t0 = t if not lead else begun + (lead[0].pts - base) * tick
                    for p in lead + [packet]:
                        offset = int(round((begun - t0) / tick)) - base
                        p.pts, p.dts = p.pts + offset, p.dts + offset
                        if last_dts is not None and p.dts <= last_dts:
                            shift = last_dts + 1 - p.dts
                            p.pts, p.dts = p.pts + shift, p.dts + shift
                        last_dts = p.dts
                        p.time_base = Fraction(video.time_base)
                        p.stream = stream
                        output.mux(p)
                        written += 1
                    lead = []
                    # it ends where the next one starts: one frame interval on
                    step = t - t_prev if t_prev is not None else (packet.duration or 0) * tick
                    t_prev, t_end = t, t + max(0.0, step)
            finally:
                source.close()
        if written == 0:
            raise RecordingError("no frame of the clip's segments lies in its window")
        if track is not None:
            mux_cues(av, output, track, cues(t0, t_end), t0)
    finally:
        output.close()
    return written, t0, t_end


def _stream_like(output, video):
    """An output stream with ``video``'s codec parameters (PyAV 13+ and older spellings)."""
    if hasattr(output, "add_stream_from_template"):
        return output.add_stream_from_template(video)
    return output.add_stream(template=video)


@contextlib.contextmanager
def hold(paths):
    """Hold the segment files at ``paths`` (a shared lock each) while they are read."""
    handles = []
    try:
        for path in paths:
            handle = open(path, "rb")
            handles.append(handle)
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        yield
    finally:
        for handle in handles:
            handle.close()


def try_delete(path):
    """Delete ``path`` unless someone holds it (``hold``); True if it is gone now."""
    try:
        handle = open(path, "rb")
    except OSError as error:
        if error.errno == errno.ENOENT:
            return True
        raise
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        os.remove(path)
        return True
    finally:
        handle.close()
