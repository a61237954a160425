"""What the writer holds while the store refuses writes: the split by priority and the bound,
pure decisions on records (``store.held``), without threads or files."""

from dashcam.records import Detection, FrameRecord
from dashcam.store.held import Detections, by_priority, shed

T0 = 1700000000.0


DET = Detection(0, "car", 0.9, 1.0, 2.0, 3.0, 4.0)
TRACK = {"track_id": 1}


def frame(i, events=(), tracks=(TRACK,)):
    return FrameRecord(i, float(i), T0 + i, [DET] * 3, [1, None, None], 0.0, list(events),
                       list(tracks))


def test_a_refused_batch_splits_into_room_evidence_and_detection_rows():
    room, evidence, bulk = by_priority([frame(0), "prune", frame(1, events=["e"])],
                                       lambda r: r == "prune")
    assert room == ["prune"] and [len(r.detections) for r in evidence] == [0, 0]
    assert [r.events for r in evidence] == [[], ["e"]] and [r.tracks for r in evidence] == [
        [TRACK], [TRACK]]
    assert all(type(r) is Detections and not r.events and not r.tracks for r in bulk)
    assert [r.frame_index for r in bulk] == [0, 1] and by_priority(bulk, lambda r: False)[2] == bulk


def test_past_the_bound_detection_rows_go_first_then_rewritten_tracks_then_the_oldest():
    evidence, bulk = by_priority([frame(0), frame(1, events=["e"])], lambda r: False)[1:]
    held = evidence[:1] + bulk + ["alert"] + [frame(2)]
    cut = shed(held, 3)
    assert cut.kept == [evidence[0], "alert", held[-1]]
    assert (cut.records, cut.rows, cut.events) == (2, 6, 0)
    cut = shed([frame(0), frame(1)], 1)                        # frame 1 rewrites track 1
    assert cut.kept == [frame(1)] and (cut.records, cut.rows, cut.events) == (0, 3, 0)
    cut = shed([frame(0, tracks=()), frame(1, events=["e"])], 1)
    assert (cut.records, cut.rows, cut.events) == (1, 3, 0)   # the detection-only frame
    cut = shed([frame(0, events=["e"]), frame(1, events=["f"])], 1)
    assert (cut.records, cut.rows, cut.events) == (1, 3, 1) and cut.kept[0].events == ["f"]
