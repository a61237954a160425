"""The lead vehicle: boxes of one object merged, the nearest in the lane chosen and followed across
track churn; the engine's lead rule, rule-wide cooldown and speed gates on the real tracker.

Pure functions on made-up boxes; the engine on ``FrameRecord``s from ``IouTracker``. The
fragment boxes are the stand-in model's on the brake scenario's car at contact (1920 x 1080).
"""

import logging

import pytest

from dashcam.alerts.engine import AlertEngine
from dashcam.alerts.lead import Blob, LeadHistory, Part, merge, same_object, select_lead
from dashcam.alerts.rules import FIRE, HOLD, LEAD, Polygon, speed_allows
from dashcam.config import load_config
from dashcam.config.checks import check_rules
from dashcam.config.sections import EGO_LANE
from dashcam.errors import ConfigError
from dashcam.runtime import build_pipeline
from dashcam.store import StoreReader, read_alerts
from test_alert_engine import records, rule
from test_pipeline import make_config
from videos import write_video

FRAME = (1920, 1080)
LANE = Polygon.parse(EGO_LANE)
# the stand-in's boxes on the car that fills the frame at contact (brake scenario, 5.8 s)
CONTACT = [(340, 441, 1094, 960), (577, 433, 1434, 959), (866, 457, 1598, 1026),
           (164, 500, 925, 1061), (1023, 557, 1801, 1064), (460, 550, 1236, 1057)]


def parts(boxes, tracks=None, confirmed=True, confidence=0.9):
    tracks = tracks or [None] * len(boxes)
    return [Part(tuple(float(v) for v in b), confidence, "car", t, confirmed)
            for b, t in zip(boxes, tracks)]


def test_the_boxes_on_a_car_that_fills_the_frame_are_one_object():
    [blob] = merge(parts(CONTACT, tracks=[27, 30, 31, None, 41, 33]))
    assert blob.box == (164.0, 433.0, 1801.0, 1064.0)      # their union: the whole car
    assert blob.track_ids == (27, 30, 31, 33, 41) and blob.confirmed and blob.label == "car"


def test_cars_side_by_side_or_one_past_another_stay_apart():
    beside = [(500, 500, 800, 700), (790, 510, 1090, 705)]     # adjacent lanes, touching
    past = [(800, 450, 1100, 700), (1050, 430, 1250, 560)]     # a farther car past its corner
    for boxes in (beside, past):
        assert [b.box for b in merge(parts(boxes))] == [tuple(map(float, b)) for b in boxes]
    # a fragment mostly inside the car's box joins it even at a small IoU
    [blob] = merge(parts([(800, 450, 1100, 700), (820, 600, 900, 690)]))
    assert blob.box == (800.0, 450.0, 1100.0, 700.0)
    # overlap links through a chain: a and c never touch, b joins both
    chain = [(0, 0, 100, 100), (60, 0, 160, 100), (120, 0, 220, 100)]
    assert [b.box for b in merge(parts(chain))] == [(0.0, 0.0, 220.0, 100.0)]
    assert merge([]) == []


def test_the_merged_object_takes_the_best_confidence_and_any_confirmed_part():
    mixed = [Part((0.0, 0.0, 100.0, 100.0), 0.6, "car", 3, False),
             Part((10.0, 0.0, 110.0, 100.0), 0.95, "truck", 5, True)]
    assert merge(mixed) == [Blob((0.0, 0.0, 110.0, 100.0), 0.95, "truck", (3, 5), True)]


def test_the_lead_is_the_confirmed_object_in_the_lane_that_stands_lowest():
    near = Blob((860.0, 600.0, 1060.0, 800.0), 0.9, "car", (2,), True)
    far = Blob((900.0, 500.0, 1000.0, 580.0), 0.9, "car", (1,), True)
    beside = Blob((0.0, 750.0, 200.0, 1000.0), 0.9, "car", (3,), True)   # ground point off lane
    tentative = Blob((800.0, 700.0, 1100.0, 1000.0), 0.9, "car", (4,), False)
    assert select_lead([far, near, beside, tentative], LANE, FRAME) == near
    assert select_lead([far, beside], LANE, FRAME) == far
    assert select_lead([beside, tentative], LANE, FRAME) is None
    assert select_lead([], LANE, FRAME) is None


def test_the_lead_stays_one_object_through_new_tracks_and_a_missed_frame():
    history = LeadHistory(keep_s=2.0)
    car = Blob((900.0, 500.0, 1000.0, 580.0), 0.9, "car", (1,), True)
    assert len(history.update(car, 0.0, 100.0)) == 1
    # next frame its boxes came from other tracks: still the car, by overlap
    grown = car._replace(box=(895.0, 498.0, 1005.0, 584.0), track_ids=(7, 8))
    assert same_object(car.box, car.track_ids, grown, 0.1)
    assert len(history.update(grown, 0.1, 100.1)) == 2
    history.fired = 0.1
    assert history.update(None, 0.2, 100.2) == [] and len(history.samples) == 2   # a miss
    # nearer 0.2 s later, on a shared track but barely overlapping the old box
    near = grown._replace(box=(1000.0, 490.0, 1140.0, 590.0), track_ids=(8, 9))
    assert len(history.update(near, 0.3, 100.3)) == 3 and history.fired == 0.1
    # another car in the lane: begun again, and not yet warned of
    other = Blob((200.0, 700.0, 400.0, 900.0), 0.9, "car", (12,), True)
    assert not same_object(near.box, near.track_ids, other, 0.1)
    assert len(history.update(other, 0.4, 100.4)) == 1 and history.fired is None
    # gone longer than keep_s: its old boxes are no history
    assert len(history.update(other, 3.0, 103.0)) == 1


def test_a_box_that_grows_faster_than_any_approach_is_another_object():
    """The follow scenario's cut to its next scene: the tracker keeps the track on the new,
    taller car in the same place, a 50 % growth in 33 ms (a TTC of 0.08 s) that warned."""
    car = Blob((886.0, 447.0, 1034.0, 570.0), 1.0, "car", (1,), True)
    taller = car._replace(box=(872.0, 383.0, 1043.0, 571.0))
    assert not same_object(car.box, car.track_ids, taller, 1 / 30.0)
    assert same_object(car.box, car.track_ids, taller, 0.5)     # over half a second: TTC 1.2 s
    history = LeadHistory(keep_s=2.0)
    for i in range(4):
        history.update(car, i / 30.0, 100.0)
    assert history.update(taller, 4 / 30.0, 100.0) == [history.samples[0]]
    assert history.samples[0].box == taller.box


def approach_then_fragments(frames=50, split=28):
    """At 10 fps a car in the lane 40 m ahead closing at 10 m/s (true TTC 4 s at the start,
    its box F H / Z tall) until the bumpers meet 2 m ahead (frame 38); from frame ``split``
    on, as the detector near contact, three overlapping boxes cover it instead of one."""
    out = []
    for i in range(frames):
        h = 2112.0 * 1.5 / max(40.0 - i, 2.0)
        x1, y1, x2, y2 = 960.0 - 0.7 * h, 900.0 - h, 960.0 + 0.7 * h, 900.0
        w = x2 - x1
        out.append([(x1, y1, x2, y2)] if i < split else [
            (x1, y1, x1 + 0.6 * w, y2), (x1 + 0.4 * w, y1 + 0.1 * h, x2, y2),
            (x1 + 0.2 * w, y1 + 0.2 * h, x2 - 0.2 * w, y2)])
    return out


def fcw(**values):
    return rule(name="fcw", roi=LANE, ttc_below=3.0, severity="critical", cooldown=5.0, **values)


def run_engine(rules, frames, speed=None):
    got = []
    engine = AlertEngine(rules, [], lambda r: got.append(r.alert), speed=speed)
    for record in records(frames):
        engine.on_frame(record)
    return got


def test_per_track_the_fragments_each_warn_and_as_the_lead_the_car_warns_once():
    frames = approach_then_fragments()
    each = run_engine([fcw()], frames)
    assert len(each) > 1                              # the fault this change removes
    [alert] = run_engine([fcw(target=LEAD)], frames)
    assert alert.t_mono < 3.0 and alert.ttc < 3.0 and alert.track_id == 1
    # the rule-wide cooldown alone also holds the fragments' warnings back
    assert len(run_engine([fcw(rule_cooldown=5.0)], frames)) == 1


@pytest.mark.parametrize("speed, values, allowed", [
    (None, {}, True), (None, {"no_speed": HOLD}, False), (None, {"no_speed": FIRE}, True),
    (0.0, {"min_speed": 5.0}, False), (5.0, {"min_speed": 5.0}, True),
    (130.0, {"max_speed": 120.0}, False), (120.0, {"max_speed": 120.0}, True),
    (300.0, {"max_speed": 0.0}, True),               # 0: no upper bound
])
def test_a_rule_is_judged_only_within_its_speeds(speed, values, allowed):
    assert speed_allows(fcw(**values), speed) is allowed


def test_the_speed_gate_on_the_engine_follows_the_getter():
    frames = approach_then_fragments()
    speeds = iter([0.0] * 25 + [40.0] * 25)           # standing in a queue, then moving
    queue = run_engine([fcw(target=LEAD, min_speed=5.0)], frames, speed=lambda: next(speeds))
    [moving] = run_engine([fcw(target=LEAD, min_speed=5.0)], frames, speed=lambda: 40.0)
    assert moving.t_mono == 1.0 and [a.t_mono for a in queue] == [2.5]   # gate opened at 2.5 s
    assert run_engine([fcw(target=LEAD, min_speed=5.0)], frames, speed=lambda: 2.0) == []
    # no fix: as no-speed says; no getter at all is no fix
    assert len(run_engine([fcw(target=LEAD, min_speed=5.0)], frames)) == 1
    assert run_engine([fcw(target=LEAD, min_speed=5.0, no_speed=HOLD)], frames) == []


def test_speeds_that_leave_no_room_stop_the_run_in_one_line(tmp_path):
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[rule:forward-collision]\nmax-speed = 3\n")    # shipped: min-speed = 5
    with pytest.raises(ConfigError) as error:
        check_rules(load_config(str(ini)))
    assert str(error.value) == (f"{ini}: [rule:forward-collision] min-speed = 5.0: it is above "
                                "max-speed = 3; the rule could never fire (change it, or set "
                                "enabled = false)")
    ini.write_text("[rule:forward-collision]\nmax-speed = 5\nno-speed = hold\n")
    check_rules(load_config(str(ini)))


def test_a_speed_getter_that_fails_counts_as_no_fix_and_is_said_once(caplog):
    def broken():
        raise OSError("gpsd went away")

    frames = approach_then_fragments()
    with caplog.at_level(logging.ERROR):
        assert len(run_engine([fcw(target=LEAD, min_speed=5.0)], frames, speed=broken)) == 1
    assert caplog.text.count("the vehicle's speed could not be read") == 1


@pytest.mark.parametrize("speed, fires", [(lambda: 5.0, False), (lambda: 20.0, True),
                                          (None, True)])
def test_the_run_reads_the_speed_it_is_given(tmp_path, tiny_model_path, speed, fires):
    """``build_pipeline(speed=...)``, as the GPS stage's ``GpsState.speed_kmh`` is wired."""
    video = write_video(tmp_path / "clip.mp4", frames=25)
    config = make_config(tmp_path, run={"status_interval": 0}, tracking={"min_hits": 2},
                         led={"enabled": "false"}, recording={"enabled": "false"},
                         **{"rule:bright-car": {"labels": "car", "cooldown": 0.2,
                                                "min-speed": 10}})
    given = {} if speed is None else {"speed": speed}
    pipeline = build_pipeline(config, source=video + "?realtime=0",
                              db_path=str(tmp_path / "dashcam.db"), model_path=tiny_model_path,
                              status_stream=None, **given)
    pipeline.run()
    with StoreReader(str(tmp_path / "dashcam.db")) as reader:
        alerts = read_alerts(reader.conn, rules=["bright-car"])
    assert bool(alerts) is fires
