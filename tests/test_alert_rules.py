"""Alert rules on scripted tracks: TTC, cooldown, ROI polygon edges, heights; their config sections.

No threads, clocks or files: a track is a list of samples with made-up times.
"""

import logging

import pytest

from dashcam.alerts.rules import (AlertRule, Height, Labels, Polygon, Sample, check, cooled_down,
                                  never_fires, rule_name, time_to_collision)
from dashcam.config import load_config
from dashcam.errors import ConfigError

FRAME = (1920, 1080)
F = 2112.0   # the synthetic camera's focal length at 1920 px: h = F * H / Z


def approaching(z0, closing, seconds=1.0, fps=30.0, height_m=1.5, x=900.0, jitter=0.0):
    """Samples of a car ``z0`` m ahead closing at ``closing`` m/s: its box height is F H / Z."""
    out = []
    for i in range(int(seconds * fps) + 1):
        t = i / fps
        h = F * height_m / (z0 - closing * t) + (jitter if i % 2 else -jitter)
        out.append(Sample(t, 1000.0 + t, (x, 700.0 - h, x + 1.2 * h, 700.0), 0.9))
    return out


def rule(**values):
    base = dict(name="r", labels=("car",), min_confidence=0.5, min_height=Height(0.0, False),
                roi=Polygon(), ttc_below=0.0, severity="warning", cooldown=10.0)
    base.update(values)
    return AlertRule(**base)


def test_ttc_is_distance_over_closing_speed_from_box_growth_alone():
    samples = approaching(30.0, 10.0)           # after 1 s: 20 m at 10 m/s, TTC 2 s
    assert time_to_collision(samples) == pytest.approx(2.0, rel=0.02)
    # two pixels of jitter frame to frame on a ~160 px box: still within 10 %
    assert time_to_collision(approaching(30.0, 10.0, jitter=2.0)) == pytest.approx(2.0, rel=0.1)


def test_no_ttc_for_steady_or_receding_objects_or_too_short_a_history():
    assert time_to_collision(approaching(20.0, 0.0)) is None
    assert time_to_collision(approaching(20.0, -5.0)) is None
    assert time_to_collision(approaching(30.0, 10.0, seconds=0.1)) is None   # 4 boxes in 0.1 s
    assert time_to_collision([]) is None


def test_ttc_reaches_back_for_enough_boxes_at_a_low_frame_rate():
    # at 5 fps 0.3 s holds two boxes: the last four (0.6 s) are used instead
    assert time_to_collision(approaching(30.0, 10.0, fps=5.0)) == pytest.approx(2.0, rel=0.05)
    # at 2 fps four boxes span 1.5 s: too old to say how fast it comes now
    assert time_to_collision(approaching(30.0, 10.0, seconds=2.0, fps=2.0)) is None


def test_a_ttc_rule_fires_below_its_threshold_only():
    fcw = rule(ttc_below=2.5)
    assert check(fcw, 7, "car", approaching(30.0, 10.0), FRAME).ttc == pytest.approx(2.0, rel=0.02)
    assert check(fcw, 7, "car", approaching(40.0, 10.0), FRAME) is None      # TTC 3 s
    assert check(fcw, 7, "car", approaching(20.0, 0.0), FRAME) is None       # following


def test_label_confidence_and_height_in_pixels_or_a_share_of_the_frame():
    samples = approaching(20.0, 0.0)          # 158 px high
    assert check(rule(), 1, "car", samples, FRAME).ttc is None
    assert check(rule(labels=("person",)), 1, "car", samples, FRAME) is None
    assert check(rule(min_confidence=0.95), 1, "car", samples, FRAME) is None
    assert check(rule(min_height=Height.parse("150px")), 1, "car", samples, FRAME)
    assert check(rule(min_height=Height.parse("160")), 1, "car", samples, FRAME) is None
    assert check(rule(min_height=Height.parse("0.14")), 1, "car", samples, FRAME)   # 151 px
    assert check(rule(min_height=Height.parse("0.15")), 1, "car", samples, FRAME) is None
    assert str(Height.parse("80px")) == "80px" and str(Height.parse("0.1")) == "0.1"
    assert Height.parse("80").in_pixels(1080) == 80 and Height.parse("0.5").in_pixels(1080) == 540


def test_roi_takes_the_ground_point_and_counts_edges_and_vertices_as_inside():
    square = Polygon.parse("0.25,0.25 0.75,0.25 0.75,0.75 0.25,0.75")
    assert square.contains(0.5, 0.5) and not square.contains(0.1, 0.5)
    for x, y in [(0.25, 0.5), (0.75, 0.5), (0.5, 0.25), (0.5, 0.75), (0.25, 0.25), (0.75, 0.75)]:
        assert square.contains(x, y), (x, y)
    assert not square.contains(0.7500001, 0.5) and not square.contains(0.5, 0.2499999)
    lane = Polygon.parse("0.09,1 0.47,0.47 0.53,0.47 0.91,1")
    assert lane.contains(0.5, 1.0) and lane.contains(0.5, 0.6) and not lane.contains(0.2, 0.6)
    # a box is in the lane by the middle of its bottom edge, not by its area
    def box_at(x1, x2, bottom):
        return [Sample(0.0, 0.0, (x1, bottom - 100, x2, bottom), 0.9)]
    in_lane = rule(roi=lane)
    assert check(in_lane, 1, "car", box_at(800, 1120, 1000), FRAME)
    assert check(in_lane, 1, "car", box_at(0, 200, 1000), FRAME) is None   # beside the lane
    assert Polygon.parse("") == () and Polygon().contains(0.0, 1.0)


def test_cooldown_per_rule_and_track_is_a_pure_decision():
    assert cooled_down(None, 5.0, 10.0)
    assert not cooled_down(0.0, 9.99, 10.0) and cooled_down(0.0, 10.0, 10.0)


@pytest.mark.parametrize("text", ["0.5,0.5 0.6,0.6", "1.2,0.5 0,0 1,1", "a,b c,d e,f", "0.5 0.1,0.1 1,1"])
def test_bad_polygons_are_refused(text):
    with pytest.raises(ValueError):
        Polygon.parse(text)


def test_labels_and_rule_names():
    assert str(Labels.parse(" car, person ")) == "car,person"
    for bad in ("", "car;person", "road sign"):
        with pytest.raises(ValueError):
            Labels.parse(bad)
    assert rule_name("forward-collision") == "forward-collision"
    for bad in ("Forward", "a" * 18, "has space", "-lead", "x,y"):
        with pytest.raises(ValueError):
            rule_name(bad)


def test_shipped_rules_and_named_sections_over_them(tmp_path, caplog):
    shipped = load_config().instances("rule")
    assert list(shipped) == ["forward-collision", "person-ahead", "road-sign"]
    assert shipped["forward-collision"].ttc_below == 3.0 and shipped["road-sign"].severity == "info"
    # the car ahead as one object, not in a queue at a standstill, warned of once in 3 s
    fcw = AlertRule.from_section("forward-collision", shipped["forward-collision"])
    assert (fcw.target, fcw.min_speed, fcw.max_speed, fcw.no_speed, fcw.rule_cooldown) == (
        "lead", 5.0, 0.0, "fire", 3.0)
    person = AlertRule.from_section("person-ahead", shipped["person-ahead"])
    assert (person.target, person.min_speed, person.rule_cooldown) == ("each", 0.0, 0.0)
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[rule:road-sign]\nenabled = false\n"
                   "[rule:forward-collision]\nttc-below = 2.0\n"
                   "[rule:cyclist-near]\nlabels = bicycle\nmin-height = 120px\nroi = 0,0 1,0 1,1\n"
                   "severity = critical\nmin_height = 3\n")
    with caplog.at_level(logging.WARNING):
        rules = load_config(str(ini)).instances("rule")
    assert list(rules) == ["forward-collision", "person-ahead", "road-sign", "cyclist-near"]
    assert not rules["road-sign"].enabled
    assert rules["forward-collision"].ttc_below == 2.0
    assert rules["forward-collision"].labels == ("car",)   # the rest stays as shipped
    assert rules["cyclist-near"].min_height == Height(120.0, True)
    assert "[rule:cyclist-near] min_height" in caplog.text and "did you mean min-height" in caplog.text
    # what `config show` prints reads back the same
    shown = tmp_path / "shown.ini"
    shown.write_text(load_config(str(ini)).to_ini())
    assert load_config(str(shown)).instances("rule") == rules


@pytest.mark.parametrize("text, message", [
    ("[rule:Big Name]\nlabels = car\n", "invalid name 'Big Name'"),
    ("[rule:x]\nseverity = loud\n", "[rule:x] severity = 'loud' is invalid: allowed info, warning or critical"),
    ("[rule:x]\nroi = 0,0 1,1\n", "[rule:x] roi = '0,0 1,1' is invalid"),
    ("[rule:x]\nttc-below = -1\n", "[rule:x] ttc-below = '-1' is invalid"),
    ("[rule:x]\nmin-speed = fast\n", "[rule:x] min-speed = 'fast' is invalid: allowed a number 0..400"),
    ("[rule:x]\nmax-speed = -5\n", "[rule:x] max-speed = '-5' is invalid: allowed a number 0..400"),
    ("[rule:x]\nno-speed = maybe\n", "[rule:x] no-speed = 'maybe' is invalid: allowed fire or hold"),
    ("[rule:x]\ntarget = nearest\n", "[rule:x] target = 'nearest' is invalid: allowed each or lead"),
    ("[rule:x]\nrule-cooldown = soon\n", "[rule:x] rule-cooldown = 'soon' is invalid"),
])
def test_bad_rule_sections_name_the_file_section_and_key(tmp_path, text, message):
    ini = tmp_path / "bad.ini"
    ini.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(str(ini))
    assert message in str(error.value) and str(ini) in str(error.value)


LABELS = ["car", "bicycle", "person", "road_sign"]
LANE_TOP = Polygon.parse("0.2,0.1 0.8,0.1 0.5,0.3")   # lies wholly above 0.3 of the height


@pytest.mark.parametrize("values, frame, found", [
    ({"labels": ("cars",)}, {}, ("labels", "cars is not a label of the model (its labels: car, "
                                           "bicycle, person, road_sign)")),
    ({"labels": ("car", "truck", "van")}, {}, ("labels", "truck, van are not a label")),
    ({"min_confidence": 1.5}, {"max_confidence": 1.0}, ("min-confidence", "at most 1 ")),
    ({"roi": Polygon.parse("0.1,0.5 0.5,0.5 0.9,0.5")}, {}, ("roi", "on one line")),
    ({"roi": Polygon.parse("0.5,0.5 0.5,0.5 0.5,0.5")}, {}, ("roi", "on one line")),
    ({"min_height": Height(2000.0, True)}, {"frame_height": 1080}, ("min-height", "1080 pixels")),
    ({"min_height": Height(0.5, False), "roi": LANE_TOP}, {}, ("roi", "as low as 0.5 of")),
    ({"min_height": Height(540.0, True), "roi": LANE_TOP}, {"frame_height": 1080},
     ("roi", "as low as 0.5 of")),
    ({"ttc_below": 3.0}, {"fps": 2.5}, ("ttc-below", "needs 4 boxes within 1 s")),
    ({"min_speed": 60.0, "max_speed": 30.0}, {}, ("min-speed", "above max-speed = 30")),
])
def test_a_rule_that_can_never_fire_says_which_key_and_why(values, frame, found):
    key, why = never_fires(rule(**values), LABELS, **frame)
    assert key == found[0] and found[1] in why


@pytest.mark.parametrize("values, frame", [
    ({"labels": ("car", "person")}, {}),
    ({"min_confidence": 1.5}, {"max_confidence": None}),             # DBSCAN sums coverages
    ({"min_height": Height(2000.0, True)}, {}),                      # frame height not known
    ({"min_height": Height(1080.0, True)}, {"frame_height": 1080}),  # a box as tall as the frame
    ({"min_height": Height(0.2, False), "roi": LANE_TOP}, {}),
    ({"ttc_below": 3.0}, {"fps": 3.0}),
    ({"ttc_below": 0.0}, {"fps": 1.0}),                              # 0: no TTC condition
    ({"roi": Polygon.parse("0,1 0.5,0.99 1,1")}, {}),                # thin, not flat
    ({"min_speed": 60.0, "max_speed": 0.0}, {}),                     # 0: no upper bound
    ({"min_speed": 30.0, "max_speed": 30.0}, {}),
])
def test_rules_that_can_fire_pass(values, frame):
    assert never_fires(rule(**values), LABELS, **frame) is None
