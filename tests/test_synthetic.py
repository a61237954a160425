"""The synthetic road world: determinism, ground truth that matches the pixels, smooth tracks."""

import cv2
import numpy as np
import pytest

from dashcam.cli import main
from dashcam.errors import SourceError
from dashcam.evaluation import kitti
from dashcam.synthetic import DONTCARE, LABELS, SyntheticWorld
from dashcam.synthetic.actors import Actor
from dashcam.synthetic.dataset import truth_objects
from dashcam.synthetic.scene import draw_lane_marks
from dashcam.synthetic.world import NOISE, _visible

W, H = 640, 360


@pytest.fixture(scope="module")
def world():
    return SyntheticWorld(seed=4, width=W, height=H)


def _same(a, b):
    return np.array_equal(a[0], b[0]) and a[1] == b[1]


def test_frame_is_a_contiguous_bgr_image_with_truths(world):
    image, truths = world.frame(0)
    assert image.shape == (H, W, 3) and image.dtype == np.uint8 and image.flags["C_CONTIGUOUS"]
    assert truths and all(t.label in LABELS + (DONTCARE,) for t in truths)
    for t in truths:
        assert t.class_id == (LABELS.index(t.label) if t.label != DONTCARE else -1)
        assert 0 <= t.x1 < t.x2 <= W and 0 <= t.y1 < t.y2 <= H
        assert 0.0 <= t.truncated <= 1.0 and t.occluded in (0, 1, 2)


def test_same_seed_and_index_give_identical_frames_in_any_order():
    indices = [0, 1799, 1800, 55, 123456, 54]
    first = SyntheticWorld(seed=9, width=320, height=180)
    frames = {i: first.frame(i) for i in indices}
    second = SyntheticWorld.from_uri("synthetic://?seed=9&width=320&height=180")
    for i in reversed(indices):
        assert _same(second.frame(i), frames[i]), i
    assert _same(first.frame(55), frames[55])  # again, after other blocks were cached


def test_different_seeds_give_different_worlds():
    a = SyntheticWorld(seed=1, width=320, height=180).frame(10)
    b = SyntheticWorld(seed=2, width=320, height=180).frame(10)
    assert not np.array_equal(a[0], b[0])


def test_size_changes_resolution_not_content():
    small = SyntheticWorld(seed=3, width=480, height=270).frame(40)[1]
    large = SyntheticWorld(seed=3, width=960, height=540).frame(40)[1]
    big_ones = {t.track_id: t for t in large if t.class_id >= 0 and t.y2 - t.y1 > 40}
    assert big_ones
    for t in small:
        if t.track_id in big_ones:
            assert abs(2 * t.x1 - big_ones[t.track_id].x1) <= 4


def test_boxes_cover_what_was_drawn(world):
    """An unoccluded, untruncated object's pixels differ from the backdrop and touch all four box edges."""
    checked = 0
    for index in range(0, 3000, 150):
        image, truths = world.frame(index)
        scene, _, tau = world.scene_at(index)
        backdrop = world._background(scene).copy()
        draw_lane_marks(backdrop, scene, world.camera, tau)
        changed = np.abs(image.astype(np.int16) - backdrop.astype(np.int16)).max(axis=2) > NOISE + 2
        for t in truths:
            if t.class_id < 0 or t.occluded or t.truncated or t.y2 - t.y1 < 12:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in t.box)
            region = changed[y1:y2, x1:x2]
            edges = (region[0].any(), region[-1].any(), region[:, 0].any(), region[:, -1].any())
            assert region.mean() > 0.2 and sum(edges) >= 3, (index, t)
            checked += 1
    assert checked >= 30


def test_tracks_move_smoothly(world):
    previous = {}
    pairs = 0
    for index in range(600):
        current = {(t.label, t.track_id): t for t in world.frame(index)[1]
                   if t.class_id >= 0 and not t.truncated and not t.occluded}
        for key, t in current.items():
            p = previous.get(key)
            if p is None:
                continue
            size = max(t.x2 - t.x1, t.y2 - t.y1, p.x2 - p.x1, p.y2 - p.y1)
            step = max(abs(t.x1 + t.x2 - p.x1 - p.x2), abs(t.y1 + t.y2 - p.y1 - p.y2)) / 2.0
            assert step <= 0.35 * size + 2.0, (index, p, t)
            pairs += 1
        previous = current
    assert pairs > 500


def test_every_class_appears_often_and_nothing_below_the_labelling_limit():
    seen = {label: 0 for label in LABELS}
    frames = 0
    for seed in range(6):
        world = SyntheticWorld(seed=100 + seed, width=480, height=270)
        for index in range(0, 18000, 360):
            truths = world.frame(index)[1]
            frames += 1
            for label in {t.label for t in truths if t.class_id >= 0}:
                seen[label] += 1
            for t in truths:
                assert t.x2 - t.x1 >= 10 * 480 / 1920.0 or t.y2 - t.y1 >= 10 * 270 / 1080.0
    assert seen["car"] > 0.9 * frames
    for label in ("bicycle", "person", "road_sign"):
        assert seen[label] > 0.2 * frames, seen


def test_a_rider_is_a_person_of_its_own_above_its_bicycle():
    world = SyntheticWorld(seed=4242, width=W, height=H)
    ridden, bike_in_full_view = 0, 0
    for index in range(0, 9000, 30):
        truths = world.frame(index)[1]
        bikes = {t.track_id: t for t in truths if t.label == "bicycle"}
        for rider in (t for t in truths if t.label == "person" and t.track_id in bikes):
            bike = bikes[rider.track_id]
            if rider.occluded or rider.truncated or bike.truncated:
                continue
            assert rider.y1 < bike.y1 < rider.y2 <= bike.y2 + 1
            assert bike.x1 <= (rider.x1 + rider.x2) / 2.0 <= bike.x2
            ridden += 1
            bike_in_full_view += bike.occluded == 0
    # the rider's legs cross its bicycle's box but do not hide it
    assert ridden >= 10 and bike_in_full_view >= 0.8 * ridden, (ridden, bike_in_full_view)


def test_heavily_occluded_objects_become_dontcare():
    world = SyntheticWorld(seed=4, width=W, height=H)
    hidden = [t for i in range(0, 900, 30) for t in world.frame(i)[1]
              if t.label == DONTCARE and t.truncated == 0.0]
    assert hidden and all(t.class_id == -1 and t.occluded == 2 for t in hidden)


def test_a_dontcare_region_is_the_whole_hidden_object():
    """Not only its visible part: a detector that sees the whole car behind another is excused."""
    world = SyntheticWorld(seed=0, width=W, height=H)
    far, near = Actor("car", 0.0, 30.0, 0.0, None), Actor("car", 0.0, 10.0, 0.0, None)
    hidden, shown = world._truths([(far, "car", (100.0, 100.0, 160.0, 140.0)),
                                   (near, "car", (80.0, 90.0, 150.0, 200.0))])
    assert hidden.label == DONTCARE and hidden.box == (100.0, 100.0, 160.0, 140.0)
    assert shown.label == "car" and shown.box == (80.0, 90.0, 150.0, 200.0)
    # and where the frame cuts it, the region ends at the frame edge
    cut = world._truths([(far, "car", (W - 20.0, 100.0, W + 200.0, 140.0))])[0]
    assert cut.label == DONTCARE and cut.box == (W - 20.0, 100.0, float(W), 140.0)


def test_visible_part_of_a_box_behind_others():
    assert _visible((10, 10, 20, 20), 100, 100, []) == ((10, 10, 20, 20), 100, 100)
    # Left half hidden: the visible box shrinks to the right half.
    assert _visible((10, 10, 20, 20), 100, 100, [(0, 0, 15, 50)]) == ((15.0, 10.0, 20.0, 20.0), 100, 50.0)
    # Hidden in the middle only: the box keeps its extent, the visible area drops.
    box, area, visible = _visible((10, 10, 20, 20), 100, 100, [(12, 0, 18, 50)])
    assert box == (10.0, 10.0, 20.0, 20.0) and visible == 40.0
    # Half outside the frame, and fully hidden.
    assert _visible((-10, 0, 10, 10), 100, 100, [])[1] == 100
    assert _visible((10, 10, 20, 20), 100, 100, [(0, 0, 50, 50)])[0] is None


def test_from_uri_reads_every_key_and_defaults():
    world = SyntheticWorld.from_uri("synthetic://?seed=7&fps=25&width=960&height=544")
    assert (world.seed, world.fps, world.width, world.height) == (7, 25.0, 960, 544)
    default = SyntheticWorld.from_uri("synthetic://")
    assert (default.seed, default.fps, default.width, default.height) == (0, 30.0, 1920, 1080)


@pytest.mark.parametrize("uri, words", [
    ("synthetic://?colour=red", ["unknown key 'colour'", "seed, fps, width, height"]),
    ("synthetic://?fps=0", ["bad fps", "0.1..1000"]),
    ("synthetic://?width=wide", ["bad width", "64..8192"]),
    ("synthetic://?seed=-1", ["bad seed", ">= 0"]),
    ("synthetic://?seed=1&seed=2", ["'seed' given twice"]),
    ("file://x.mp4", ["not a synthetic source"]),
])
def test_from_uri_errors_name_the_key_and_what_is_allowed(uri, words):
    with pytest.raises(SourceError) as error:
        SyntheticWorld.from_uri(uri)
    for word in words:
        assert word in str(error.value)


def test_negative_index_is_refused(world):
    with pytest.raises(ValueError):
        world.frame(-1)


def test_synth_command_writes_the_worlds_frames_and_labels(tmp_path, capsys):
    out = tmp_path / "set"
    status = main(["synth", "--frames", "3", "--seed", "5", "--start", "30", "--out", str(out),
                   "--width", "320", "--height", "180"])
    assert status == 0
    summary = capsys.readouterr().out
    assert summary.startswith("synth: 3 frames (320x180, seed 5)") and "car=" in summary
    world = SyntheticWorld(seed=5, width=320, height=180)
    for index in (30, 31, 32):
        image, truths = world.frame(index)
        assert np.array_equal(cv2.imread(str(out / "images" / f"{index:06d}.png")), image)
        labels = kitti.read_labels(out / "labels" / f"{index:06d}.txt")
        expected = truth_objects(truths)
        assert [o.type for o in labels] == [o.type for o in expected]
        for got, want in zip(labels, expected):
            assert got.box == pytest.approx(want.box, abs=0.006)
            assert (got.occluded, got.truncated) == (want.occluded, pytest.approx(want.truncated, abs=0.006))


def test_synth_command_step_spreads_the_frames(tmp_path):
    assert main(["synth", "--frames", "3", "--step", "100", "--start", "5", "--out", str(tmp_path),
                 "--width", "160", "--height", "96"]) == 0
    world = SyntheticWorld(seed=0, width=160, height=96)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["000005.png", "000105.png", "000205.png"]
    assert np.array_equal(cv2.imread(str(tmp_path / "images" / "000205.png")), world.frame(205)[0])


def test_synth_command_jpg(tmp_path):
    assert main(["synth", "--frames", "1", "--out", str(tmp_path), "--width", "320", "--height", "180",
                 "--format", "jpg"]) == 0
    assert cv2.imread(str(tmp_path / "images" / "000000.jpg")).shape == (180, 320, 3)


def test_synth_command_unwritable_out_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["synth", "--frames", "1", "--out", str(blocker / "set")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot create" in err and "--out" in err


def test_an_object_beside_the_camera_renders():
    """Seed 513, frame 623: a tree beside the camera projects far outside the frame."""
    image, _ = SyntheticWorld(seed=513).frame(623)
    assert image.shape == (1080, 1920, 3)
