"""Impact and harsh-driving detection on crafted traces (CSV files written here, read back
through the csv:// reader), with the chip mounted at an angle the detector must learn."""

import math

import numpy as np
import pytest

from dashcam import events as ev
from dashcam.errors import DashcamError
from dashcam.imu import MotionDetector, Thresholds
from dashcam.imu.motion import SENSITIVITY
from dashcam.imu.sources import TraceSource, read_trace
from dashcam.senses import Sample
from imu_traces import (BRAKING, CRUISE, KNOCK, POTHOLE, PULL_AWAY, REST, rotation, trace,
                        write_trace)

FLEET = dict(impact_min_s=0.01, braking_g=0.45, acceleration_g=0.4, cornering_g=0.45,
             harsh_min_s=0.3, still_g=0.05)


def detect(rows, sensitivity="medium", forward=None):
    detector = MotionDetector(Thresholds(SENSITIVITY[sensitivity], **FLEET), forward)
    findings = [f for row in rows for f in detector.update(Sample(*row))]
    return findings, detector


def drive(tmp_path, *phases, **kwargs):
    """The phases written to a CSV trace and read back as the csv:// source reads it."""
    return read_trace(write_trace(tmp_path / "drive.csv", trace(list(phases), **kwargs)))


def test_a_knock_is_an_impact_a_braking_is_harsh_and_a_pothole_is_nothing(tmp_path):
    rows = drive(tmp_path, REST, PULL_AWAY, CRUISE, *POTHOLE, CRUISE, BRAKING, CRUISE, KNOCK,
                 CRUISE)
    findings, _ = detect(rows)
    assert [f.kind for f in findings] == [ev.HARSH_BRAKING, ev.IMPACT]
    braking, impact = findings
    braking_at = 2.0 + 1.0 + 2.0 + 0.56 + 2.0
    assert braking_at < braking.start < braking_at + 0.5 and braking.end < braking_at + 1.6
    assert braking.peak == pytest.approx(0.5, abs=0.03)
    knock_at = braking_at + 1.5 + 2.0
    assert impact.start == pytest.approx(knock_at, abs=0.011)
    assert impact.peak == pytest.approx(1.5, abs=0.03)
    assert impact.end - impact.start == pytest.approx(0.04, abs=0.011)


def test_the_mounting_is_learned_from_the_rest_and_the_pull_away(tmp_path):
    mount = (90.0, 12.0, -4.0)
    _, detector = detect(drive(tmp_path, REST, PULL_AWAY, CRUISE, mount=mount))
    chip = rotation(*mount)
    gravity, forward = detector.mounting.gravity, detector.mounting.forward
    assert np.allclose(gravity, chip @ [0, 0, 1], atol=0.01)
    angle = math.degrees(math.acos(np.dot(forward, chip @ [1, 0, 0])))
    assert angle < 3.0


def test_started_mid_drive_harsh_driving_is_judged_once_the_forward_axis_is_known(tmp_path):
    rows = drive(tmp_path, CRUISE, BRAKING, CRUISE, mount=(0.0, 0.0, 0.0), noise=0.02)
    learned, detector = detect(rows)
    assert learned == [] and detector.mounting.forward is None   # no rest, no pull-away yet
    configured, _ = detect(rows, forward="+x")
    assert [f.kind for f in configured] == [ev.HARSH_BRAKING]


def test_a_turn_is_harsh_cornering_either_way(tmp_path):
    left, right = (1.0, 0.0, 0.5, 0.0), (1.0, 0.0, -0.5, 0.0)
    findings, _ = detect(drive(tmp_path, REST, PULL_AWAY, left, CRUISE, right, CRUISE))
    assert [f.kind for f in findings] == [ev.HARSH_CORNERING, ev.HARSH_CORNERING]


def test_sensitivity_high_takes_a_pothole_for_an_impact(tmp_path):
    rows = drive(tmp_path, REST, PULL_AWAY, *POTHOLE)
    assert [f.kind for f in detect(rows, "high")[0]] == [ev.IMPACT]
    assert detect(rows, "medium")[0] == detect(rows, "low")[0] == []


def test_one_stray_sample_is_no_impact_and_the_bounces_of_one_knock_are_one(tmp_path):
    glitch = (0.01, 3.0, 0.0, 0.0)
    bounces = [KNOCK, (0.2, 0.0, 0.0, 0.0), KNOCK, (0.2, 0.0, 0.0, 0.0), KNOCK]
    findings, _ = detect(drive(tmp_path, REST, glitch, CRUISE, *bounces, CRUISE))
    assert [f.kind for f in findings] == [ev.IMPACT]


def test_still_after_seconds_at_rest_and_not_once_it_moves(tmp_path):
    rows = drive(tmp_path, (3.0, 0.0, 0.0, 0.0), BRAKING)
    detector = MotionDetector(Thresholds(1.2, **FLEET))
    seen = []
    for row in rows:
        detector.update(Sample(*row))
        seen.append((row[0], detector.still(row[0], 2.0)))
    assert not any(still for t, still in seen if t < 1.9)
    assert all(still for t, still in seen if 2.1 < t < 3.0)
    assert not any(still for t, still in seen if t > 3.1)


def test_a_trace_is_replayed_in_real_time_from_when_it_is_opened(tmp_path):
    path = write_trace(tmp_path / "t.csv", [(0.0, 0, 0, 1), (0.5, 0, 0, 1), (1.0, 0, 0, 1.5)])
    now = [100.0]
    source = TraceSource(path, clock=lambda: now[0])
    assert [s.t for s in source.read(0.1)] == [100.0]
    now[0] = 100.7
    assert [s.t for s in source.read(0.1)] == [100.5] and source.read(0.1) == []
    now[0] = 105.0
    assert source.read(0.1) == [Sample(101.0, 0.0, 0.0, 1.5)] and source.ended


@pytest.mark.parametrize("text, says", [
    ("time,x,y,z\n0,0,0,1\n", "the first line must be t,ax,ay,az"),
    ("t,ax,ay,az\n0,0,0,1\n0.01,0,zero,1\n", "line 3: expected four numbers"),
    ("t,ax,ay,az\n0.5,0,0,1\n0.2,0,0,1\n", "line 3: expected four numbers t,ax,ay,az with t not"),
])
def test_a_malformed_trace_is_named_with_its_line(tmp_path, text, says):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DashcamError, match=says):
        read_trace(str(path))
    with pytest.raises(DashcamError, match="cannot read the trace .*missing.csv"):
        read_trace(str(tmp_path / "missing.csv"))
