"""``dashcam clips`` and ``dashcam clip``: thin shells over the library, on a real store."""

import json
import os

import pytest

from dashcam.cli import main
from dashcam.recording.index import ClipRequest
from recorded import T0, decode

pytest.importorskip("av", reason="PyAV writes and joins the segments (no wheel for 3.6)")

from test_recording_clips import recorded_store  # noqa: E402


@pytest.fixture
def store_with_clip(tmp_path):
    store, run, event_id, closed = recorded_store(tmp_path, seconds=6)
    with store:
        store.write(run, closed + [ClipRequest(event_id, T0 + 1, T0 + 4)])
    return str(tmp_path / "dashcam.db"), str(tmp_path / "rec"), event_id


def test_clips_lists_and_clip_writes_a_playable_file(store_with_clip, tmp_path, capsys):
    db, rec, event_id = store_with_clip
    assert main(["clips", "--db", db, "--recordings", rec, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["event_id"], row["type"], row["segments"], row["missing"]) == (
        event_id, "object_appeared", 2, 0)
    assert row["window_start"] == "2023-11-14T22:13:21.000Z"
    out = str(tmp_path / "event.mp4")
    assert main(["clip", str(event_id), "-o", out, "--db", db, "--recordings", rec]) == 0
    assert capsys.readouterr().out.startswith(out + ": event {} (object_appeared car)".format(
        event_id))
    frames, span = decode(out)
    assert frames == 90 and abs(span - (3.0 - 1 / 30.0)) < 1e-3
    os.remove(os.path.join(rec, "run-000001", "20231114T221322.000Z.ts"))
    assert main(["clips", "--db", db, "--recordings", rec]) == 0
    assert "1 missing" in capsys.readouterr().out


def test_clip_of_an_event_without_one_is_one_line_and_exit_2(store_with_clip, tmp_path, capsys):
    db, rec, _ = store_with_clip
    assert main(["clip", "12345", "-o", str(tmp_path / "x.mp4"), "--db", db]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no event 12345" in err


@pytest.mark.parametrize("name", ["out.avi", "out.mkv", "out", "out.mp4.txt"])
def test_clip_refuses_a_container_it_does_not_write_in_one_line(store_with_clip, tmp_path,
                                                                capsys, name):
    db, rec, event_id = store_with_clip
    out = str(tmp_path / name)
    assert main(["clip", str(event_id), "-o", out, "--db", db, "--recordings", rec]) == 2
    assert capsys.readouterr().err == (
        "dashcam clip: error: cannot write {}: a clip is written as .mp4 or .ts (its video as "
        "recorded, not re-encoded); give a name ending in one of them\n".format(out))
    assert not os.path.exists(out) and not os.path.exists(out + ".part")


def test_clip_writes_mpeg_ts_for_a_ts_name(store_with_clip, tmp_path, capsys):
    import av

    db, rec, event_id = store_with_clip
    out = str(tmp_path / "event.TS")
    assert main(["clip", str(event_id), "-o", out, "--db", db, "--recordings", rec]) == 0
    with av.open(out) as container:
        assert container.format.name == "mpegts"
    frames, span = decode(out)
    assert frames == 90 and abs(span - (3.0 - 1 / 30.0)) < 1e-3
