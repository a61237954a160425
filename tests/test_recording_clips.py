"""Clips on a real store and real segments: linking, protection, joining into one MP4."""

import os
import threading

import pytest

from dashcam import events as ev
from dashcam.errors import RecordingError
from dashcam.recording.index import (ClipRequest, PruneDetections, RecordingIndex,
                                     SegmentsDeleted, SnapshotTaken)
from dashcam.recording.join import hold, try_delete
from dashcam.records import Detection, FrameRecord
from dashcam.store import EventStore, StoreReader
from recorded import T0, decode, frames

av = pytest.importorskip("av", reason="PyAV writes and joins the segments (no wheel for 3.6)")

from dashcam.recording import write_clip  # noqa: E402
from dashcam.recording.software import SoftwareEncoder  # noqa: E402


def recorded_store(tmp_path, seconds=12, segment_seconds=2.0):
    """A store with a run, an event at T0 + 5 and ``seconds`` of video in segments."""
    store = EventStore(str(tmp_path / "dashcam.db"))
    RecordingIndex().register(store)
    run = store.begin_run(T0, "test")
    batch = store.write(run, [ev.Event(ev.OBJECT_APPEARED, T0 + 5, None, "car", 1, ev.INFO,
                                       {"box": [1, 2, 3, 4]})])
    encoder = SoftwareEncoder(str(tmp_path / "rec"), segment_seconds=segment_seconds)
    encoder.run_id = run
    closed = []
    for frame in frames(int(seconds * 30)):
        closed.extend(encoder.write(frame))
    closed += encoder.close()
    return store, run, batch.events[0][0], closed


def clip_rows(path):
    with StoreReader(path) as reader:
        return list(reader.db.query("SELECT event_id, segment_id, window_start, window_end"
                                    " FROM clips ORDER BY segment_id"))


def test_a_request_links_the_segments_already_there_and_those_still_to_come(tmp_path):
    store, run, event_id, closed = recorded_store(tmp_path)
    with store:
        store.write(run, closed[:3])                         # 0..6 s indexed
        store.write(run, [ClipRequest(event_id, T0 + 3, None)])   # open: from T0 + 3 on
        assert [r["segment_id"] for r in clip_rows(store.path)] == [2, 3]
        store.write(run, closed[3:4])                        # 6..8 s: falls in the open window
        store.write(run, [ClipRequest(event_id, T0 + 3, T0 + 8.5)])   # closed now
        store.write(run, closed[4:])                         # 8..12 s: only 8..10 overlaps
        rows = clip_rows(store.path)
        assert [r["segment_id"] for r in rows] == [2, 3, 4, 5]
        assert {r["window_end"] for r in rows} == {"2023-11-14T22:13:28.500Z"}
        protected = [r[0] for r in store.conn.execute(
            "SELECT id FROM segments WHERE protected = 1 ORDER BY id")]
        assert protected == [2, 3, 4, 5]
        store.write(run, closed[3:4] + [ClipRequest(event_id, T0 + 3, T0 + 8.5)])  # a retry
        assert len(clip_rows(store.path)) == 4


def test_write_clip_remuxes_the_window_into_one_playable_mp4(tmp_path):
    store, run, event_id, closed = recorded_store(tmp_path)
    with store:
        store.write(run, closed + [ClipRequest(event_id, T0 + 3, T0 + 8)])
    out = str(tmp_path / "clip.mp4")
    with StoreReader(str(tmp_path / "dashcam.db")) as reader:
        assert write_clip(reader, event_id, out, str(tmp_path / "rec")) == out
    count, span = decode(out)
    # from the keyframe at T0 + 3 (one a second) to the last frame before T0 + 8
    assert count == 150 and abs(span - (5.0 - 1 / 30.0)) < 1e-3
    with av.open(out) as container:
        assert container.format.name.startswith("mov")
        assert next(container.demux(container.streams.video[0])).is_keyframe
    assert not os.path.exists(out + ".part")


def test_write_clip_says_in_one_line_why_there_is_no_clip(tmp_path):
    store, run, event_id, closed = recorded_store(tmp_path, seconds=2)
    with store:
        store.write(run, closed)
    with StoreReader(store.path) as reader:
        with pytest.raises(RecordingError, match="has no clip") as error:
            write_clip(reader, event_id, str(tmp_path / "x.mp4"), str(tmp_path / "rec"))
        assert "\n" not in str(error.value)
        with pytest.raises(RecordingError, match="no event 999"):
            write_clip(reader, 999, str(tmp_path / "x.mp4"), str(tmp_path / "rec"))


def test_deleted_snapshot_and_pruned_rows(tmp_path):
    store, run, event_id, closed = recorded_store(tmp_path, seconds=4)
    with store:
        det = Detection(0, "car", 0.9, 1.0, 2.0, 3.0, 4.0)
        store.write(run, [FrameRecord(i, i, T0 - 100 + i, [det] * 3, [None] * 3, 0.0, [], [])
                          for i in range(10)])
        store.write(run, closed + [ClipRequest(event_id, T0, T0 + 1)])
        store.write(run, [SegmentsDeleted([1]), SnapshotTaken(event_id, "snapshots/e.jpg"),
                          PruneDetections(T0 - 95, 4), PruneDetections(None, 10)])
        one = store.conn.execute
        assert [r[0] for r in one("SELECT id FROM segments")] == [2]
        assert one("SELECT count(*) FROM clips").fetchone()[0] == 0
        assert one("SELECT snapshot FROM events WHERE id = ?", (event_id,)).fetchone()[0] == \
            "snapshots/e.jpg"
        assert one("SELECT count(*) FROM detections").fetchone()[0] == 30 - 4 - 10


def test_a_held_segment_is_not_deleted_until_let_go(tmp_path):
    path = str(tmp_path / "seg.ts")
    with open(path, "wb") as handle:
        handle.write(b"x" * 100)
    inside = threading.Event()
    with hold([path]):
        inside.set()
        assert not try_delete(path) and os.path.exists(path)
    assert try_delete(path) and not os.path.exists(path)
    assert try_delete(path)   # already gone


def test_snapshots_draw_the_frame_s_boxes_and_a_lost_camera_s_last_frame(tmp_path):
    import cv2

    from dashcam.recording.snapshots import SnapshotWorker
    from recorded import wait_for

    store, run, event_id, closed = recorded_store(tmp_path, seconds=8)
    det = Detection(0, "car", 0.9, 20.0, 20.0, 80.0, 60.0)
    lost = ev.camera_lost(T0 + 5, "csi://0", "gone")     # in a gap: the segment [4, 6) is missing
    with store:
        batch = store.write(run, closed[:2] + closed[3:] + [
            lost, FrameRecord(210, 0.0, T0 + 7, [det], [7], 0.0, [], [])])
        lost_id = batch.events[0][0]
        submitted = []

        def submit(record):
            submitted.append(record)
            return True

        worker = SnapshotWorker(str(tmp_path / "rec"), lambda: StoreReader(store.path), submit,
                                width=0, wait_s=10.0).start()
        worker.offer((event_id, ev.Event(ev.OBJECT_APPEARED, T0 + 7, None, "car", 7, ev.INFO,
                                         {"box": [20, 20, 80, 60]})))
        worker.offer((lost_id, lost))
        assert wait_for(lambda: len(submitted) == 2)
        assert worker.stop(5.0) and worker.missed == 0
    shots = {r.event_id: r.path for r in submitted}
    image = cv2.imread(str(tmp_path / "rec" / shots[event_id]))
    [plain] = [f.image for f in frames(1, start=210)]
    assert image.shape == plain.shape == (96, 160, 3)
    changed = abs(image.astype(int) - plain.astype(int)).sum(axis=2) > 90
    assert changed[22:58, 20].mean() > 0.8 and changed[70:, 100:].mean() < 0.05   # the box
    last_before = cv2.imread(str(tmp_path / "rec" / shots[lost_id]))
    [frame_119] = [f.image for f in frames(1, start=119)]   # the last frame of [2, 4)
    assert abs(last_before.astype(int) - frame_119.astype(int)).mean() < 12
