"""Box arithmetic against its definition (plain loops), the one every stage measures with."""

import numpy as np
import pytest

from candidates import reference_iou
from dashcam.geometry import covered_share, iou_one, pairwise_iou


def test_pairwise_iou_matches_the_definition():
    boxes = np.array([[0, 0, 10, 10], [5, 5, 15, 15], [20, 20, 30, 40], [0, 0, 10, 10]], np.float32)
    assert pairwise_iou(boxes, boxes) == pytest.approx(reference_iou(boxes), abs=1e-6)
    assert pairwise_iou(boxes, boxes)[0, 1] == pytest.approx(25.0 / 175.0)
    assert iou_one(boxes[0], boxes) == pytest.approx(reference_iou(boxes)[0], abs=1e-6)


def test_empty_boxes_and_empty_sets():
    assert pairwise_iou([(3, 3, 3, 3)], [(3, 3, 3, 3)])[0, 0] == 0.0  # no union: IoU 0
    assert pairwise_iou([], [(0, 0, 1, 1)]).shape == (0, 1)


def test_covered_share_is_the_largest_share_inside_one_region():
    share = covered_share([(0, 0, 10, 10), (50, 50, 60, 60)], [(0, 0, 5, 10), (0, 0, 10, 8)])
    assert share.tolist() == [0.8, 0.0]
    assert covered_share([(0, 0, 1, 1)], []).tolist() == [0.0]
