"""Parking mode's decisions as pure functions: when parking begins and ends, and which car
counts as approaching (no threads, no clocks, no files)."""

import pytest

from dashcam.parking.mode import (IGNITION, IMPACT, MOVEMENT, START, STILL, Senses, approaching,
                                  moving, step)
from dashcam.rate import FrameRate
from dashcam.records import Detection, FrameRecord

STILL_S, STILL_KMH = 300.0, 3.0
STANDING = Senses(None, 0.5, True)
DRIVING = Senses(None, 40.0, False)


def run(looks, state=START, impact_at=()):
    """Feed ``looks`` ([(t, Senses)]); the changes as (t, parked, reason)."""
    changes = []
    for t, senses in looks:
        state, change = step(state, senses, t, STILL_S, STILL_KMH, impact=t in impact_at)
        if change:
            changes.append((t,) + change)
    return state, changes


def test_gps_speed_decides_moving_and_the_imu_alone_only_without_a_fix():
    assert moving(Senses(None, 5.0, True), STILL_KMH) is True        # GPS: faster than still
    assert moving(Senses(None, 0.0, False), STILL_KMH) is None       # standing, the body rocks
    assert moving(Senses(None, None, False), STILL_KMH) is True      # no fix: the IMU says
    assert moving(Senses(None, 2.9, None), STILL_KMH) is False
    assert moving(Senses(None, None, True), STILL_KMH) is False
    assert moving(Senses(True, None, None), STILL_KMH) is None       # no GPS fix, no IMU


def test_standing_still_parks_after_still_s_and_moving_ends_it():
    looks = [(t, STANDING) for t in range(0, 301, 30)] + [(330, DRIVING), (360, STANDING)]
    state, changes = run(looks)
    assert changes == [(300, True, STILL), (330, False, MOVEMENT)]
    assert not state.parked and state.still_since == 360


def test_a_stop_in_traffic_shorter_than_still_s_never_parks():
    looks = [(t, STANDING) for t in range(0, 290, 10)] + [(290, DRIVING)] + \
            [(t, STANDING) for t in range(300, 590, 10)]
    assert run(looks)[1] == []


def test_without_gps_and_imu_only_the_ignition_line_parks():
    blind = Senses(None, None, None)
    assert run([(t, blind) for t in range(0, 4000, 100)])[1] == []
    changes = run([(0, Senses(True, None, None)), (10, Senses(False, None, None)),
                   (20, Senses(False, None, None)), (30, Senses(True, None, None))])[1]
    assert changes == [(10, True, IGNITION), (30, False, IGNITION)]


def test_an_engine_off_at_the_start_parks_at_once_and_a_running_engine_never_parks_by_stillness():
    assert run([(0, Senses(False, 0.0, True))])[1] == [(0, True, IGNITION)]
    idling = [(t, Senses(True, 0.0, True)) for t in range(0, 1000, 50)]
    assert run(idling)[1] == []


def test_an_impact_ends_parking_and_the_stillness_is_counted_afresh():
    off = Senses(False, 0.0, True)
    looks = [(t, off) for t in range(0, 700, 50)]
    state, changes = run(looks, impact_at=(100,))
    # parked by the ignition at 0, woken by the impact at 100, parked again 300 s later
    assert changes == [(0, True, IGNITION), (100, False, IMPACT), (400, True, STILL)]
    assert state.parked and state.since == 400


def test_a_knock_felt_by_the_imu_neither_wakes_parking_nor_lets_it_begin():
    knock = Senses(None, 0.0, False)
    looks = [(t, STANDING) for t in range(0, 301, 50)] + [(310, knock), (320, STANDING)]
    state, changes = run(looks)
    assert changes == [(300, True, STILL)] and state.parked and state.still_since == 320


def test_an_impact_while_driving_changes_nothing():
    assert run([(0, DRIVING), (1, DRIVING)], impact_at=(1,))[1] == []


def record(t, boxes, label="car", height=360, index=0):
    detections = [Detection(0, label, 0.9, *box) for box in boxes]
    return FrameRecord(index, t, 1700000000.0 + t, detections, list(range(len(boxes))), 0.01,
                       [], [], (640, height))


PASSING = [   # seconds 1.5, 2, 2.5 and 3 of the parked scenario (seed 7, 640 x 360)
    (170, 149, 253, 200), (135, 149, 240, 211), (69, 147, 219, 230), (0, 149, 186, 263)]


def test_a_car_near_and_growing_fast_approaches_with_the_alert_rules_ttc():
    # the parked scenario's passing car, half a second apart (the stand-in model's boxes)
    frames = [record(0.5 * t, [box]) for t, box in enumerate(PASSING)]
    found = [approaching(a, b, 360, 0.15, 4.0) for a, b in zip(frames, frames[1:])]
    assert found[0] is not None and found[0][0] == 0
    assert found[-1][1] < found[0][1] < 4.0              # the time to collision falls


def test_a_far_steady_shrinking_or_lone_car_does_not_approach():
    big = (100, 100, 300, 250)
    assert approaching(record(0, [big]), record(1, [big]), 360, 0.15, 4.0) is None   # parked car
    assert approaching(record(0, PASSING[1:2]), record(0.5, PASSING[:1]), 360, 0.15, 4.0) is None
    small = [(300, 150, 310, 158), (298, 149, 314, 161)]
    assert approaching(record(0, small[:1]), record(1, small[1:]), 360, 0.15, 4.0) is None
    apart = [(0, 150, 100, 220), (400, 140, 600, 300)]      # two cars, not one that grew
    assert approaching(record(0, apart[:1]), record(1, apart[1:]), 360, 0.15, 4.0) is None
    person = [record(0, PASSING[1:2], "person"), record(0.5, PASSING[2:3], "person")]
    assert approaching(*person, 360, 0.15, 4.0) is None
    assert approaching(record(0, PASSING[1:2]), record(5, PASSING[2:3]), 360, 0.15, 4.0) is None


@pytest.mark.parametrize("fps, passed", [(None, 30), (1.0, 1), (10.0, 10)])
def test_frame_rate_passes_at_most_fps_frames_a_second(fps, passed):
    rate = FrameRate(fps)
    assert sum(rate.take(i / 30.0) for i in range(30)) == passed
