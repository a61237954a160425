"""The stamp on evidence: subtitle cues of a real joined clip read back with PyAV, the
burnt-in strip, and ``[recording] stamp`` frames, on real segments and a real store.

The GPS fixes are ``senses.Fix`` lists built here (the GPS stage stores them; ``write_clip``
takes them as a parameter), so each cue's expected speed and position are known.
"""

import os
import shutil

import cv2
import numpy as np
import pytest

from dashcam import events as ev
from dashcam.errors import RecordingError
from dashcam.recording.index import ClipRequest
from dashcam.recording.stamp import (EVENT_SHOW_S, MAX_FIX_AGE_S, clip_cues, draw_strip,
                                     live_line, moment_line, strip_height)
from dashcam.senses import Fix
from dashcam.store import StoreReader
from dashcam.timestamps import parse_iso
from recorded import T0, frames

av = pytest.importorskip("av", reason="PyAV writes, joins and decodes the clips (no wheel for 3.6)")

from dashcam.cli import main  # noqa: E402
from dashcam.recording import write_clip  # noqa: E402
from dashcam.recording.subtitles import mux_with_ffmpeg  # noqa: E402
from test_recording_clips import recorded_store  # noqa: E402

# 10 m/s (36 km/h) once a second up to T0 + 5, then the receiver loses the sky
FIXES = [Fix(T0 + s, 48.1 + s * 1e-4, -11.5, 520.0, 10.0, 90.0, 3) for s in range(6)]


def event(event_id, t, type_=ev.OBJECT_APPEARED, data=None):
    from dashcam.timestamps import iso_utc
    return {"id": event_id, "ts_start": iso_utc(t), "type": type_, "label": "car",
            "track_id": 7, "severity": ev.CRITICAL if type_ == ev.ALERT else ev.INFO,
            "data": data}


def test_cues_come_each_second_and_at_each_event_and_never_invent_a_speed():
    alert = event(2, T0 + 6.5, ev.ALERT, {"rule": "forward-collision", "ttc_s": 1.23})
    cues = clip_cues(T0 + 2.5, T0 + 10.2, FIXES, [event(1, T0 + 3.25), alert], parse_iso)
    starts = [round(c.start - T0, 2) for c in cues]
    assert starts == [2.5, 3.0, 3.25, 4.0, 5.0, 6.0, 6.5, 7.0, 8.0, 9.0, 10.0]
    assert all(a.end == b.start for a, b in zip(cues, cues[1:])) and cues[-1].end == T0 + 10.2
    text = {s: c.text for s, c in zip(starts, cues)}
    assert text[2.5] == "2023-11-14 22:13:22Z  36 km/h  48.10020N 11.50000W"
    assert text[3.25].splitlines() == ["2023-11-14 22:13:23Z  36 km/h  48.10030N 11.50000W",
                                       "object appeared car #7"]
    assert text[6.0].splitlines()[1:] == ["object appeared car #7"]      # until 3.25 + 3
    assert text[6.5].splitlines()[1:] == ["ALERT critical forward-collision: car #7, TTC 1.2 s"]
    # the last fix is at T0 + 5: it covers MAX_FIX_AGE_S, then "no GPS", not its speed
    assert text[8.0].startswith("2023-11-14 22:13:28Z  36 km/h")
    assert text[9.0] == "2023-11-14 22:13:29Z  no GPS\n" + \
        "ALERT critical forward-collision: car #7, TTC 1.2 s"
    assert text[10.0] == "2023-11-14 22:13:30Z  no GPS"
    assert 5 + MAX_FIX_AGE_S < 9.0 and 6.5 + EVENT_SHOW_S < 10.0
    assert clip_cues(T0, T0 + 1.5, [], [], parse_iso)[0].text == "2023-11-14 22:13:20Z  no GPS"
    assert moment_line(T0, FIXES[0]._replace(speed=None)).split("  ")[1] == "speed ?"
    assert live_line(T0 + 0.9, None) == "2023-11-14 22:13:20Z  no GPS"
    assert live_line(T0, 51.6) == "2023-11-14 22:13:20Z  52 km/h"


def test_the_strip_touches_only_its_own_rows_of_a_4_2_0_picture():
    image = np.random.RandomState(1).randint(0, 255, (1080, 1920, 3), np.uint8)
    yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
    before = yuv.copy()
    assert draw_strip(yuv, 1920, 1080, "2023-11-14 22:13:20Z  36 km/h") == 24 == \
        strip_height(1080)
    changed = np.argwhere((yuv != before).any(axis=1)).ravel()
    # each chroma plane: 540 rows of 960, two to a row of 1920; the strip's are its last 12
    u_rows = range(1080 + (540 - 12) // 2, 1080 + 270)
    v_rows = range(1080 + 270 + (540 - 12) // 2, 1080 + 540)
    assert set(changed) <= set(range(1080 - 24, 1080)) | set(u_rows) | set(v_rows)
    back = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)
    text = (back[-24:].min(axis=2) > 180).any(axis=0)       # white text on a black strip
    assert text[:300].mean() > 0.5 and not text[600:].any() and back[-24:, 600:].max() < 40
    assert strip_height(96, 2) == 24 and strip_height(720) == 16


def stamped_store(tmp_path):
    """``recorded_store``'s event at T0 + 5 with a clip T0 + 3 .. T0 + 8, and an alert at
    T0 + 6.5 in it."""
    store, run, event_id, closed = recorded_store(tmp_path)
    with store:
        store.write(run, closed + [ClipRequest(event_id, T0 + 3, T0 + 8),
                                   ev.alert(T0 + 6.5, "car", 7, ev.CRITICAL,
                                            {"rule": "forward-collision", "ttc_s": 1.4})])
    return store.path, str(tmp_path / "rec"), event_id


def read_cues(path):
    """``[(start s, end s, text)]`` of the clip's subtitle track, decoded by PyAV."""
    with av.open(path) as container:
        [stream] = container.streams.subtitles
        assert stream.codec_context.name == "mov_text"
        cues = []
        for packet in container.demux(stream):
            for subtitle in packet.decode():
                text = subtitle.ass.decode().split(",", 8)[-1].replace("\\N", "\n")
                start = float(packet.pts * stream.time_base)
                cues.append((round(start, 3), round(start + float(packet.duration *
                                                                  stream.time_base), 3), text))
        return cues


def test_a_joined_clip_carries_the_stamp_as_subtitles_at_their_moments(tmp_path):
    db, rec, event_id = stamped_store(tmp_path)
    out = str(tmp_path / "clip.mp4")
    with StoreReader(db) as reader:
        write_clip(reader, event_id, out, rec, fixes=FIXES)
    cues = read_cues(out)
    # the clip starts on the keyframe at T0 + 3 and ends one frame after T0 + 8 - 1/30
    assert [c[0] for c in cues] == [0.0, 1.0, 2.0, 3.0, 3.5, 4.0]
    assert cues[-1][1] == 5.0
    assert cues[0][2] == "2023-11-14 22:13:23Z  36 km/h  48.10030N 11.50000W"
    assert cues[2][2] == "2023-11-14 22:13:25Z  36 km/h  48.10050N 11.50000W\n" \
                         "object appeared car #1"
    assert cues[4][2].splitlines() == [
        "2023-11-14 22:13:26Z  36 km/h  48.10050N 11.50000W", "object appeared car #1",
        "ALERT critical forward-collision: car #7, TTC 1.4 s"]
    with av.open(out) as container:   # the video is the recorded one, untouched
        assert container.streams.video[0].codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) == 150
    # without fixes from the store (this one has none yet): "no GPS" at every second
    with StoreReader(db) as reader:
        write_clip(reader, event_id, out, rec)
    assert [c[2].splitlines()[0][-6:] for c in read_cues(out)] == ["no GPS"] * 6
    assert not [n for n in os.listdir(str(tmp_path)) if n.endswith(".part")]


def test_the_ffmpeg_program_writes_the_same_track_for_an_older_pyav(tmp_path, monkeypatch):
    """PyAV before 17 cannot mux a subtitle stream; the ffmpeg program adds the same cues.
    This PyAV can, so the probe is told otherwise (the one stand-in here)."""
    if not shutil.which("ffmpeg"):
        pytest.skip("no ffmpeg program here")
    db, rec, event_id = stamped_store(tmp_path)
    direct, plain, muxed = (str(tmp_path / n) for n in ("a.mp4", "plain.mp4", "b.mp4"))
    with StoreReader(db) as reader:
        write_clip(reader, event_id, direct, rec, fixes=FIXES)
        write_clip(reader, event_id, plain, rec, stamp=False)
        monkeypatch.setattr("dashcam.recording.join.can_mux", lambda av: False)
        write_clip(reader, event_id, muxed, rec, fixes=FIXES)
    with av.open(plain) as container:
        assert not container.streams.subtitles
    assert read_cues(muxed) == read_cues(direct)
    pictures = decoded(direct, True)
    assert all((a == b).all() for a, b in zip(decoded(muxed, True), pictures))   # copied
    assert len(pictures) == 150
    assert sorted(os.listdir(str(tmp_path))) == sorted(
        ["a.mp4", "b.mp4", "plain.mp4", "dashcam.db", "dashcam.db.lock", "dashcam.db.reserve", "dashcam.db.reserve-end",
         "rec"])


def test_a_failing_ffmpeg_is_one_line_and_no_ffmpeg_gives_the_clip_without_its_track(
        tmp_path, monkeypatch, caplog):
    """Where neither PyAV nor ffmpeg can add the track, the video is still written (it is the
    evidence) and a warning says how to get the stamp (the same probe stand-in as above)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        broken = tmp_path / "broken.mp4"
        broken.write_bytes(b"not a video")
        with pytest.raises(RecordingError, match="ffmpeg could not add the subtitle stamp") as e:
            mux_with_ffmpeg(str(broken), clip_cues(T0, T0 + 2, [], [], parse_iso), T0,
                            str(tmp_path / "out.mp4"), ffmpeg)
        assert "\n" not in str(e.value) and not [n for n in os.listdir(str(tmp_path))
                                                 if n.endswith(".srt")]
    db, rec, event_id = stamped_store(tmp_path)
    monkeypatch.setattr("dashcam.recording.join.can_mux", lambda av: False)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    out = str(tmp_path / "clip.mp4")
    with StoreReader(db) as reader:
        write_clip(reader, event_id, out, rec, fixes=FIXES)
    with av.open(out) as container:
        assert not container.streams.subtitles
    assert len(decoded(out, True)) == 150
    assert f"{out} is written without its subtitle stamp" in caplog.text
    assert "apt install ffmpeg" in caplog.text


def test_a_ts_clip_has_no_subtitle_track(tmp_path):
    db, rec, event_id = stamped_store(tmp_path)
    out = str(tmp_path / "clip.ts")
    with StoreReader(db) as reader:
        write_clip(reader, event_id, out, rec, fixes=FIXES)
    with av.open(out) as container:
        assert not container.streams.subtitles and container.format.name == "mpegts"


def decoded(path, luma=False):
    """Every frame of ``path``: BGR, or (``luma``) the Y plane as coded, 16..235."""
    with av.open(path) as container:
        return [(f.to_ndarray(format="yuv420p")[:f.height] if luma else
                 f.to_ndarray(format="bgr24")).astype(int) for f in container.decode(video=0)]


def psnr(a, b):
    """Peak signal-to-noise ratio of two 8-bit pictures, dB: above 30 is a faithful copy."""
    return 10 * np.log10(255.0 ** 2 / max(1e-9, ((a - b) ** 2).mean()))


def test_burn_in_draws_the_stamp_into_the_picture_and_leaves_the_rest(tmp_path, capsys):
    db, rec, event_id = stamped_store(tmp_path)
    plain, burnt = str(tmp_path / "plain.mp4"), str(tmp_path / "burnt.mp4")
    with StoreReader(db) as reader:
        write_clip(reader, event_id, plain, rec, stamp=False)
    assert main(["clip", str(event_id), "-o", burnt, "--burn-in", "--db", db,
                 "--recordings", rec]) == 0
    assert capsys.readouterr().out.startswith(burnt + ": event")
    with av.open(burnt) as container:
        assert not container.streams.subtitles and len(container.streams) == 1
    before, after = decoded(plain, True), decoded(burnt, True)   # luma: the detail
    assert len(before) == len(after) == 150
    tall = strip_height(96, 3)   # the tallest strip: the time and two events
    for a, b in zip(before, after):
        assert psnr(a[:96 - tall], b[:96 - tall]) > 30.0    # only re-encoded (x264 crf 18)
        assert psnr(a[-12:], b[-12:]) < 15.0                # the strip
    # the strip says what the cue says at that moment: drawn again, it matches
    drawn = []
    for text in ("2023-11-14 22:13:23Z  no GPS", "2023-11-14 22:13:24Z  no GPS"):
        yuv = np.zeros((144, 160), np.uint8)
        draw_strip(yuv, 160, 96, text)
        drawn.append(yuv[84:96].astype(int))
    assert psnr(after[0][-12:], drawn[0]) > psnr(after[0][-12:], drawn[1]) + 6


def test_recording_stamp_draws_time_and_speed_into_the_recorded_frames(tmp_path):
    from dashcam.config.loader import load_config
    from dashcam.recording.build import make_encoder

    speeds = iter([None] * 30 + [36.4] * 30)
    outputs = {}
    for name, stamp in (("plain", "false"), ("stamped", "true")):
        ini = tmp_path / f"{name}.ini"
        ini.write_text(f"[recording]\nstamp = {stamp}\nsegment-seconds = 2\n")
        section = load_config(str(ini)).recording
        encoder = make_encoder("software", str(tmp_path / name), section, 30.0,
                               speed=lambda: next(speeds))
        assert (encoder.stamp is not None) is section.stamp
        encoder.run_id = 1
        closed = []
        for frame in frames(60):
            closed += encoder.write(frame)
        closed += encoder.close()
        outputs[name] = [f for c in closed for f in decoded(str(tmp_path / name / c.path))]
    plain, stamped = outputs["plain"], outputs["stamped"]
    assert len(plain) == len(stamped) == 60
    for a, b in zip(plain, stamped):
        assert np.abs(a[:96 - 12] - b[:96 - 12]).mean() < 2.0
        assert np.abs(a[-12:] - b[-12:]).mean() > 20.0
    # the first second says "no GPS", the next the speed the getter gave at that frame
    for index, text in ((0, "2023-11-14 22:13:20Z  no GPS"), (45, "2023-11-14 22:13:21Z  36 km/h")):
        yuv = cv2.cvtColor(plain[index].astype(np.uint8), cv2.COLOR_BGR2YUV_I420)
        draw_strip(yuv, 160, 96, text)
        drawn = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR_I420)[-12:].astype(int)
        other = stamped[59 - index][-12:]
        assert np.abs(stamped[index][-12:] - drawn).mean() < np.abs(other - drawn).mean() / 2


def test_an_exported_clip_carries_the_stamp_and_a_second_export_reuses_it(tmp_path):
    """Export joins with ``write_clip``: its MP4 has the track, and joining again gives the
    same bytes, so the next export finds the clip on the stick and leaves it."""
    from dashcam.export import write_export

    db, rec, event_id = stamped_store(tmp_path)
    stick = tmp_path / "stick"
    stick.mkdir()
    first = write_export(str(stick), db, rec, with_clips=True, host="box", now=T0 + 60)
    assert first.clips == 1 and not first.notes
    clip = str(stick / "dashcam-box" / "clips" / f"event-{event_id:06d}.mp4")
    cues = read_cues(clip)
    assert [c[0] for c in cues] == [0.0, 1.0, 2.0, 3.0, 3.5, 4.0]
    assert cues[4][2].splitlines() == ["2023-11-14 22:13:26Z  no GPS", "object appeared car #1",
                                       "ALERT critical forward-collision: car #7, TTC 1.4 s"]
    stamp = os.stat(clip).st_mtime_ns
    second = write_export(str(stick), db, rec, with_clips=True, host="box", now=T0 + 120)
    assert second.skipped >= 1 and os.stat(clip).st_mtime_ns == stamp
