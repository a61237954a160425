"""DetectNet_v2 decoding on hand-computed tensors."""

import numpy as np
import pytest

from dashcam.inference.detectnet import GridDecoder


def tensors(classes=4, grid_h=34, grid_w=60):
    return (np.zeros((classes, grid_h, grid_w), np.float32),
            np.zeros((4 * classes, grid_h, grid_w), np.float32))


def test_one_cell_gives_the_box_computed_by_hand():
    cov, bbox = tensors()
    # class 2 (person), row 10, column 20: centre (16*20 + 0.5, 16*10 + 0.5) = (320.5, 160.5)
    cov[2, 10, 20] = 0.9
    bbox[8:12, 10, 20] = (1.0, 2.0, 0.5, 3.0)
    found = GridDecoder(34, 60, 16, 16, 544, 960).decode(cov, bbox, [0.2] * 4)
    assert found.class_ids.tolist() == [2]
    assert found.scores.tolist() == pytest.approx([0.9])
    # x1 = 320.5 - 35*1, y1 = 160.5 - 35*2, x2 = 320.5 + 35*0.5, y2 = 160.5 + 35*3
    assert found.boxes[0].tolist() == pytest.approx([285.5, 90.5, 338.0, 265.5])


def test_boxes_are_clipped_to_the_network_input_and_empty_ones_dropped():
    cov, bbox = tensors()
    cov[0, 0, 0] = cov[0, 33, 59] = cov[1, 5, 5] = 0.5
    bbox[0:4, 0, 0] = 2.0           # reaches past the top-left corner
    bbox[0:4, 33, 59] = 2.0         # past the bottom-right corner
    bbox[4:8, 5, 5] = (-1.0, 0.0, -1.0, 1.0)  # x2 < x1: empty after decoding
    found = GridDecoder(34, 60, 16, 16, 544, 960).decode(cov, bbox, [0.2] * 4)
    assert found.class_ids.tolist() == [0, 0]
    assert found.boxes[0].tolist() == pytest.approx([0.0, 0.0, 70.5, 70.5])
    assert found.boxes[1].tolist() == pytest.approx([944.5 - 70.0, 528.5 - 70.0, 960.0, 544.0])


def test_threshold_is_per_class_and_strict():
    cov, bbox = tensors()
    bbox[:] = 1.0
    cov[0, 1, 1] = 0.4   # car at its threshold: not a candidate
    cov[0, 2, 2] = 0.41
    cov[3, 3, 3] = 0.2   # road sign at its threshold: not a candidate
    cov[3, 4, 4] = 0.21
    found = GridDecoder(34, 60, 16, 16, 544, 960).decode(cov, bbox, [0.4, 0.2, 0.2, 0.2])
    assert found.class_ids.tolist() == [0, 3]
    assert found.scores.tolist() == pytest.approx([0.41, 0.21])


def test_other_strides_use_the_model_geometry():
    cov, bbox = np.zeros((1, 17, 30), np.float32), np.ones((4, 17, 30), np.float32)
    cov[0, 1, 2] = 1.0
    found = GridDecoder(17, 30, 32, 32, 544, 960).decode(cov, bbox, [0.5])
    # centre (32*2 + 0.5, 32*1 + 0.5) = (64.5, 32.5); y1 = -2.5 is clipped to 0
    assert found.boxes[0].tolist() == pytest.approx([29.5, 0.0, 99.5, 67.5])
