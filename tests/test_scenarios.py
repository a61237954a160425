"""Scripted synthetic scenarios and the forward-collision warning judged against their truth,
with the stand-in model on ONNX Runtime, the tracker and the shipped rules."""

import pytest

from dashcam.alerts.judge import collision_time, judge
from dashcam.alerts.rules import AlertRule
from dashcam.config import load_config
from dashcam.errors import SourceError
from dashcam.inference import build_detector
from dashcam.paths import default_model_path
from dashcam.synthetic import SyntheticWorld, parse_uri
from dashcam.synthetic.scenarios import BONNET_M, BRAKE_AT_S, DECEL, GAP0_M, PERIOD_S
from dashcam.tracking import IouTracker


def test_the_scenario_is_a_uri_key_and_the_plain_world_is_untouched():
    assert parse_uri("synthetic://?scenario=brake&seed=3") == {"scenario": "brake", "seed": 3}
    with pytest.raises(SourceError, match="bad scenario 'crash' .allowed: brake, follow"):
        parse_uri("synthetic://?scenario=crash")
    plain = SyntheticWorld(seed=3, width=320, height=180)
    assert plain.lead(10) is None and plain.scenario is None
    assert "scenario" not in repr(plain)


def test_the_car_ahead_brakes_as_scripted_and_its_true_ttc_is_known():
    world = SyntheticWorld(seed=2, width=480, height=270, scenario="brake")
    fps = world.fps
    before = world.lead(int(2.0 * fps))
    assert before.distance_m == GAP0_M - BONNET_M and before.closing_mps == 0 and before.ttc_s is None
    t = 1.0
    braking = world.lead(int((BRAKE_AT_S + t) * fps))
    gap = GAP0_M - 0.5 * DECEL * t * t - BONNET_M
    assert braking.distance_m == pytest.approx(gap) and braking.closing_mps == pytest.approx(DECEL * t)
    assert braking.ttc_s == pytest.approx(gap / (DECEL * t))
    after = world.lead(int(7.9 * fps))
    assert after.distance_m == 0.0 and after.ttc_s is None       # the bumpers met and stay
    # its box grows as it nears, under its own track id in the frame's truth
    heights = []
    for seconds in (2.0, 4.0, 5.0):
        _, truths = world.frame(int(seconds * fps))
        [box] = [t.box for t in truths if t.track_id == braking.track_id]
        heights.append(box[3] - box[1])
    assert heights[0] < heights[1] < heights[2]
    # the next repetition is a scene of its own, with the same script
    assert world.lead(int((PERIOD_S + 2.0) * fps)).track_id != braking.track_id
    assert collision_time("brake") == pytest.approx(5.783, abs=1e-3) and collision_time("follow") is None


def test_following_traffic_keeps_its_distance():
    world = SyntheticWorld(seed=2, width=480, height=270, scenario="follow")
    for index in (0, 100, 200):
        lead = world.lead(index)
        assert lead.closing_mps == 0 and lead.distance_m == GAP0_M - BONNET_M


@pytest.fixture(scope="module")
def fcw():
    config = load_config()
    rules = [AlertRule.from_section(name, section)
             for name, section in config.instances("rule").items()]
    detector = build_detector(config, default_model_path())
    yield rules, detector
    detector.close()


def test_the_forward_collision_warning_fires_once_a_second_before_the_bumpers_meet(fcw):
    """Once per braking: at contact the car fills the frame under many shifting boxes, each
    of which, judged as a track of its own, used to warn again."""
    rules, detector = fcw
    world = SyntheticWorld(seed=1, scenario="brake")
    # every other frame: 15 fps, as a slower device processes them; two brakings
    repetitions, samples, alerts = judge(world, detector, IouTracker(), rules, 2, step=2)
    warnings = [a for a in alerts if a.rule == "forward-collision"]
    assert [int(a.t_mono // PERIOD_S) for a in warnings] == [0, 1], warnings
    for repetition, first in zip(repetitions, warnings):
        assert repetition.margin("forward-collision") >= 1.0, (repetition, alerts)
        assert first.ttc < 3.0 and first.label == "car" and first.severity == "critical"
    assert sum(1 for s in samples if s.estimate_s is not None) > 40


def test_no_forward_collision_warning_for_traffic_at_a_constant_distance(fcw):
    rules, detector = fcw
    world = SyntheticWorld(seed=1, scenario="follow")
    [repetition], _, alerts = judge(world, detector, IouTracker(), rules, step=2)
    assert "forward-collision" not in repetition.first_alert
    assert [a for a in alerts if a.rule == "forward-collision"] == []
