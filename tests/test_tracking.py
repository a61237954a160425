"""The IoU tracker on made-up detections and times: no threads, clocks or files."""

from dashcam.geometry import pairwise_iou
from dashcam.records import Detection
from dashcam.tracking import IouTracker, greedy_match

import numpy as np


def car(x, conf=0.8, w=100, y=200):
    return Detection(0, "car", conf, x, y, x + w, y + 60)


def person(x):
    return Detection(2, "person", 0.7, x, 200, x + 40, 300)


def test_one_object_keeps_its_id_is_confirmed_then_ends():
    tracker = IouTracker(min_hits=3, max_age=1.0)
    confirmed_at, ids = None, []
    for frame in range(10):
        t = frame / 10.0
        update = tracker.update([car(100 + 5 * frame, conf=0.5 + frame / 100)], t, 1000.0 + t)
        ids.extend(update.track_ids)
        if update.confirmed:
            confirmed_at = frame
        assert update.ended == []
    assert set(ids) == {1}
    assert confirmed_at == 2  # third hit
    # not seen for more than max_age seconds: the object has left
    assert tracker.update([], 1.5, 1001.5).ended == []
    ended = tracker.update([], 2.01, 1002.01).ended
    assert [t.track_id for t in ended] == [1]
    track = ended[0]
    assert track.hits == 10
    assert track.first_seen == 1000.0 and abs(track.last_seen - 1000.9) < 1e-9
    assert abs(track.best_confidence - 0.59) < 1e-9
    assert track.best_box == car(145).box
    row = track.as_row()
    assert row["history"][0][0] == 1000.0 and row["history"][-1][0] == track.last_seen


def test_tentative_track_dies_after_its_allowed_misses():
    tracker = IouTracker(min_hits=3, tentative_misses=1)
    tracker.update([car(100)], 0.0, 0.0)
    tracker.update([car(102)], 0.1, 0.1)
    assert tracker.update([], 0.2, 0.2).ended == [] and len(tracker.tracks) == 1  # one miss: kept
    update = tracker.update([car(104)], 0.3, 0.3)
    assert update.track_ids == [1] and [t.track_id for t in update.confirmed] == [1]
    tracker.update([car(500)], 0.4, 0.4)   # a new, tentative one elsewhere
    tracker.update([], 0.5, 0.5)
    tracker.update([], 0.6, 0.6)           # its second miss: dropped, never reported
    assert [t.track_id for t in tracker.tracks] == [1]
    # the same place again is a new object, not the dropped tentative one
    assert tracker.update([car(502)], 0.7, 0.7).track_ids == [3]


def test_the_first_trackers_parameters_drop_a_tentative_track_on_its_first_miss():
    tracker = IouTracker(iou_threshold=0.3, tentative_misses=0, motion=False, confident=0.0,
                         duplicate_iou=1.1)
    tracker.update([car(100)], 0.0, 0.0)
    tracker.update([car(102)], 0.1, 0.1)
    assert tracker.update([], 0.2, 0.2).ended == [] and tracker.tracks == []


def test_motion_keeps_a_fast_object_that_was_missed_for_two_frames():
    # 30 px a frame to the right, 100 px wide: after two missed frames its last box
    # and the new one overlap by only 10 %, its predicted box by most of it.
    def frames(tracker):
        ids = []
        for frame in [0, 1, 2, 3, 6]:
            t = frame / 30.0
            ids.extend(tracker.update([car(100 + 30 * frame)], t, t).track_ids)
        return ids
    assert frames(IouTracker(motion=True)) == [1, 1, 1, 1, 1]
    assert frames(IouTracker(motion=False)) == [1, 1, 1, 1, 2]


def test_a_strong_box_keeps_the_track_a_weaker_duplicate_overlaps_more():
    tracker = IouTracker(min_hits=1, motion=False)
    tracker.update([car(100, conf=0.9)], 0.0, 0.0)
    # the object moved on by 20 px; NMS kept a weak box left behind at the old place too
    update = tracker.update([car(101, conf=0.3), car(120, conf=0.9)], 0.1, 0.1)
    assert update.track_ids == [None, 1]
    # a second strong box overlapping the one that continued the track is not a new object
    update = tracker.update([car(125, conf=0.9), car(160, conf=0.8)], 0.2, 0.2)
    assert update.track_ids == [1, None] and update.confirmed == []
    # a weak detection alone never starts a track; one far from any other does
    assert tracker.update([car(125), car(900, conf=0.3)], 0.3, 0.3).track_ids == [1, None]
    assert tracker.update([car(125), car(900, conf=0.6)], 0.4, 0.4).track_ids == [1, 2]


def test_classes_never_share_a_track_and_overlaps_are_matched_best_first():
    tracker = IouTracker(min_hits=1, confident=0.0)
    first = tracker.update([car(100), person(110), car(400)], 0.0, 0.0)
    assert first.track_ids == [1, 2, 3] and len(first.confirmed) == 3
    second = tracker.update([car(398), person(112), car(103)], 0.1, 0.1)
    assert second.track_ids == [3, 2, 1]


def test_flush_ends_only_confirmed_tracks():
    tracker = IouTracker(min_hits=2, tentative_misses=0)
    tracker.update([car(100), car(500)], 0.0, 0.0)
    tracker.update([car(101)], 0.1, 0.1)
    assert [t.track_id for t in tracker.flush()] == [1]
    assert tracker.tracks == []


def test_history_stays_bounded_and_keeps_the_start():
    tracker = IouTracker(min_hits=1, history_size=8, history_interval=0.1, max_age=5)
    for frame in range(300):
        tracker.update([car(100 + frame * 0.5)], frame / 30.0, frame / 30.0)
    track = tracker.tracks[0]
    assert len(track.history) <= 8
    assert track.history[0][0] == 0.0
    times = [h[0] for h in track.history]
    assert times == sorted(times)


def test_pairwise_iou_and_greedy_match():
    iou = pairwise_iou([(0, 0, 10, 10), (20, 20, 30, 30)], [(0, 0, 10, 10), (5, 0, 15, 10)])
    assert np.allclose(iou, [[1.0, 1 / 3.0], [0.0, 0.0]])
    assert greedy_match(np.array([[0.5, 0.9], [0.8, 0.0]]), 0.3) == [(0, 1), (1, 0)]
    assert greedy_match(np.zeros((0, 2)), 0.3) == []
