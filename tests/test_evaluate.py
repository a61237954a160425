"""The model card's matcher and metrics, and ``dashcam evaluate`` end to end."""

import json
import os

import cv2
import numpy as np
import pytest

from dashcam.cli import main
from dashcam.errors import DashcamError
from dashcam.evaluation.evaluate import (DONTCARE, Counts, Truth, canonical_label, dataset_pairs,
                                         evaluate, evaluate_frame, match_class)
from dashcam.records import Detection

CAR = (100.0, 100.0, 200.0, 200.0)


def det(label, conf, box):
    return Detection(0, label, conf, *box)


def test_one_to_one_duplicates_are_false_positives():
    tp, fp, fn = match_class([CAR, (102, 101, 201, 199)], [0.9, 0.8], [CAR])
    assert (tp, fp, fn) == (1, 1, 0)


def test_unmatched_ground_truth_is_a_false_negative():
    assert match_class([], [], [CAR, (300, 300, 350, 340)]) == (0, 0, 2)
    assert match_class([(500, 500, 520, 520)], [0.5], [CAR]) == (0, 1, 1)


def test_iou_exactly_half_is_not_a_match():
    # a half-width box inside the GT: intersection 5000 / union 10000
    half = (100.0, 100.0, 150.0, 200.0)
    assert match_class([half], [0.9], [CAR]) == (0, 1, 1)
    just_over = (100.0, 100.0, 150.5, 200.0)
    assert match_class([just_over], [0.9], [CAR]) == (1, 0, 0)


def test_greedy_by_confidence_decides_who_gets_the_ground_truth():
    # Both detections overlap the GT; the confident one takes it even though the other fits better.
    gt = [CAR]
    loose = (110, 110, 210, 210)    # IoU ~0.68
    exact = CAR                     # IoU 1.0
    assert match_class([exact, loose], [0.3, 0.9], gt) == (1, 1, 0)
    # A covers both GTs (IoU 0.54 with g0, 0.67 with g1), B only g1 (0.96).
    gts = [(0, 0, 100, 100), (50, 0, 150, 100)]
    a, b = (30, 0, 130, 100), (52, 0, 152, 100)
    # A first takes its best, g1; B then has nothing left: one FP, g0 missed.
    assert match_class([a, b], [0.9, 0.8], gts) == (1, 1, 1)
    # B first takes g1; A falls back to g0: both match.
    assert match_class([a, b], [0.8, 0.9], gts) == (2, 0, 0)


def test_dontcare_and_small_objects_are_neither_missed_nor_false():
    truths = [Truth("car", *CAR), Truth(DONTCARE, 600, 0, 900, 200),
              Truth("car", 400, 400, 408, 406)]  # 8x6 px at 1080 rows: under 10 px
    dets = [det("car", 0.9, CAR),
            det("car", 0.8, (650, 20, 700, 80)),       # inside DontCare
            det("car", 0.7, (560, 50, 640, 100)),      # exactly half inside DontCare
            det("car", 0.6, (400, 400, 408, 406)),     # on the ignored small car
            det("car", 0.5, (0, 500, 50, 560))]        # a real false positive
    result = evaluate_frame(dets, truths, image_height=1080)
    assert result["car"] == (1, 1, 0)
    # The size limit scales with the image: 8 px at 540 rows is 16 px at 1080, so counted.
    result = evaluate_frame([], truths, image_height=540)
    assert result["car"] == (0, 0, 2)
    # Either side of the limit counts: width or height >= min size.
    tall = [Truth("person", 10, 10, 14, 20)]
    assert evaluate_frame([], tall, 1080)["person"] == (0, 0, 1)


def test_classes_are_matched_separately_and_labels_case_insensitively():
    truths = [Truth("person", *CAR)]
    dets = [det("Car", 0.9, CAR), det("Pedestrian", 0.8, CAR)]
    result = evaluate_frame(dets, truths, 1080)
    assert result["car"] == (0, 1, 0)
    assert result["person"] == (1, 0, 0)


@pytest.mark.parametrize("name, expected", [
    ("Car", "car"), ("road sign", "road_sign"), ("RoadSign", "road_sign"), ("road-sign", "road_sign"),
    ("Cyclist", "bicycle"), ("two-wheeler", "bicycle"), ("Pedestrian", "person"),
    ("DontCare", DONTCARE), ("Truck", None)])
def test_label_aliases(name, expected):
    assert canonical_label(name) == expected


def test_metrics_arithmetic():
    counts = Counts(tp=8, fp=2, fn=6)
    assert counts.precision == pytest.approx(0.8)
    assert counts.recall == pytest.approx(8 / 14.0)
    assert counts.f1 == pytest.approx(2 * 0.8 * (8 / 14.0) / (0.8 + 8 / 14.0))
    assert counts.accuracy == pytest.approx(8 / 16.0)
    assert Counts().as_dict() == {"tp": 0, "fp": 0, "fn": 0, "precision": None,
                                  "recall": None, "f1": None, "accuracy": None}


def test_evaluate_sums_frames():
    image = np.zeros((1080, 1920, 3), np.uint8)
    samples = [(image, [Truth("car", *CAR)]), (image, [Truth("car", *CAR)])]
    answers = iter([[det("car", 0.9, CAR)], []])
    totals = evaluate(samples, lambda img: next(answers))
    assert (totals["car"].tp, totals["car"].fp, totals["car"].fn) == (1, 0, 1)
    assert totals["bicycle"].as_dict()["tp"] == 0


def write_dataset(root, frames):
    images, labels = root / "images", root / "labels"
    images.mkdir()
    labels.mkdir()
    for stem, lines in frames.items():
        cv2.imwrite(str(images / (stem + ".png")), np.full((1080, 1920, 3), 90, np.uint8))
        (labels / (stem + ".txt")).write_text("".join(line + "\n" for line in lines))
    return str(images), str(labels)


KITTI_CAR = "car 0.00 0 0.00 100.00 500.00 400.00 700.00 0.00 0.00 0.00 0.00 0.00 0.00 0.00"


def test_dataset_pairs_name_the_unmatched_file(tmp_path):
    images, labels = write_dataset(tmp_path, {"000000": [KITTI_CAR]})
    assert dataset_pairs(images, labels) == [(os.path.join(images, "000000.png"),
                                              os.path.join(labels, "000000.txt"))]
    (tmp_path / "labels" / "000001.txt").write_text(KITTI_CAR + "\n")
    with pytest.raises(DashcamError, match="000001.txt"):
        dataset_pairs(images, labels)
    os.remove(str(tmp_path / "labels" / "000001.txt"))
    cv2.imwrite(str(tmp_path / "images" / "000002.jpg"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(DashcamError, match="000002.jpg"):
        dataset_pairs(images, labels)


def test_malformed_label_is_an_error_naming_file_and_line(tmp_path, capsys):
    images, labels = write_dataset(tmp_path, {"000000": [KITTI_CAR, "car 0.0 0 oops"]})
    status = main(["evaluate", "--images", images, "--labels", labels])
    assert status == 2
    err = capsys.readouterr().err
    assert "000000.txt:2" in err and len(err.strip().splitlines()) == 1


def test_evaluate_command_end_to_end_on_synthetic_frames(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["synth", "--frames", "3", "--seed", "4242", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--images", str(out / "images"), "--labels", str(out / "labels"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["car", "bicycle", "person", "road_sign"]
    for counts in result.values():
        assert set(counts) == {"tp", "fp", "fn", "precision", "recall", "f1", "accuracy"}
        assert all(isinstance(counts[k], int) and counts[k] >= 0 for k in ("tp", "fp", "fn"))
        for key in ("precision", "recall", "f1", "accuracy"):
            assert counts[key] is None or 0.0 <= counts[key] <= 1.0
    # the stand-in model finds most of the cars in its own world
    assert result["car"]["tp"] > 0 and result["car"]["recall"] >= 0.5
    # and the table form has a row per class
    assert main(["evaluate", "--images", str(out / "images"), "--labels", str(out / "labels")]) == 0
    table = capsys.readouterr().out
    assert "3 images" in table and all(name in table for name in result)
