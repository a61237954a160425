"""Segments on real files: libx264 through PyAV, the TS probe, crash recovery, quarantine."""

import os

import pytest

from dashcam.recording.segments import name_time, recover, run_of, segment_files, segment_name
from dashcam.recording.tsprobe import probe
from recorded import T0, decode, frames

av = pytest.importorskip("av", reason="PyAV writes and decodes the segments (no wheel for 3.6)")

from dashcam.recording.software import SoftwareEncoder  # noqa: E402


def encode(folder, count, segment_seconds=2.0, run_id=1, **options):
    encoder = SoftwareEncoder(str(folder), segment_seconds=segment_seconds, **options)
    encoder.run_id = run_id
    closed = []
    for frame in frames(count):
        closed.extend(encoder.write(frame))
    return encoder, closed


def test_segments_are_keyframe_aligned_contiguous_and_decode_end_to_end(tmp_path):
    encoder, closed = encode(tmp_path, 150)          # 5 s at 30 fps, 2 s segments
    closed += encoder.close()
    assert [s.frames for s in closed] == [60, 60, 30]
    assert all(b.started_at == a.ended_at for a, b in zip(closed, closed[1:]))
    assert closed[0].started_at == T0 and abs(closed[-1].ended_at - (T0 + 5.0)) < 1e-6
    for s in closed:
        full = str(tmp_path / s.path)
        count, span = decode(full)
        assert count == s.frames and abs(span - (s.frames - 1) / 30.0) < 1e-3
        assert s.bytes == os.path.getsize(full) and (s.width, s.height) == (160, 96)
        found = probe(full)
        assert (found.frames, found.clean_end) == (s.frames, s.bytes)
        assert abs(found.duration() - s.seconds) < 1e-3
        with av.open(full) as container:
            first = next(container.demux(container.streams.video[0]))
            assert first.is_keyframe
    assert name_time(closed[1].path) == pytest.approx(closed[1].started_at, abs=1e-3)
    assert run_of(closed[0].path) == 1 and segment_name(1, T0).startswith("run-000001/")


def test_a_segment_cut_anywhere_is_recovered_up_to_its_last_whole_frame(tmp_path):
    encoder, closed = encode(tmp_path, 40, segment_seconds=10.0)
    path = encoder.current_path                     # open, as when the power goes
    full = str(tmp_path / path)
    size = os.path.getsize(full)
    with open(full, "r+b") as handle:               # cut mid-packet, then a block of zeros
        handle.truncate(size - 1000)
        handle.seek(0, 2)
        handle.write(b"\0" * 4096)
    with open(str(tmp_path / "run-000001" / "garbage.ts"), "wb") as handle:
        handle.write(b"not video at all" * 100)
    records, events = recover(str(tmp_path), indexed=set(), known_runs={1}, now=T0 + 60)
    [record] = records
    assert record.path == path and record.recovered and record.run_id == 1
    assert 30 <= record.frames <= 39 and record.bytes == os.path.getsize(full)
    count, _ = decode(full)
    assert count == record.frames                    # every indexed frame decodes
    assert [e.type for e in events] == ["segment_recovered", "segment_quarantined"]
    assert events[1].data["moved_to"] == "quarantine/run-000001/garbage.ts"
    assert os.path.exists(str(tmp_path / "quarantine" / "run-000001" / "garbage.ts"))
    assert segment_files(str(tmp_path)) == [path]   # quarantine is left out from now on
    again, _ = recover(str(tmp_path), indexed={path}, known_runs={1}, now=T0 + 61)
    assert again == []


def test_recovery_skips_the_running_run_and_drops_an_unknown_run_id(tmp_path):
    encode(tmp_path, 10, run_id=7)
    encode(tmp_path, 10, run_id=8)
    records, _ = recover(str(tmp_path), set(), known_runs={1}, now=T0, skip=("run-000008",))
    assert [(r.path.split("/")[0], r.run_id) for r in records] == [("run-000007", None)]


def test_a_segment_is_closed_when_frames_stop_coming(tmp_path):
    encoder, closed = encode(tmp_path, 20, segment_seconds=2.0)
    last = 100.0 + 19 / 30.0
    assert closed == [] and encoder.poll(last + 1.0) == []
    [segment] = encoder.poll(last + 2.0)            # a lost camera: closed, so it is indexed
    assert segment.frames == 20 and encoder.current_path is None
    assert decode(str(tmp_path / segment.path))[0] == 20


def test_recovery_keeps_every_byte_it_cuts(tmp_path):
    """Recovery cut closed segments of another store in place: now the cut bytes are kept
    in quarantine/ first, so the original file is the cut file followed by them."""
    encoder, _ = encode(tmp_path, 40, segment_seconds=10.0)
    path = encoder.current_path                     # open, as when the power goes
    full = str(tmp_path / path)
    with open(full, "ab") as handle:                # a torn frame, then what the card held
        handle.write(b"\x47" + b"\x00" * 300 + b"\xff" * 4000)
    with open(full, "rb") as handle:
        original = handle.read()
    [record], [event] = recover(str(tmp_path), indexed=set(), known_runs={1}, now=T0 + 60)
    kept = event.data["kept"]
    assert kept == "quarantine/{}.cut-at-{}".format(path, record.bytes)
    with open(full, "rb") as cut, open(str(tmp_path / kept), "rb") as tail:
        assert cut.read() + tail.read() == original
    assert event.data["cut_bytes"] == len(original) - record.bytes > 4000
