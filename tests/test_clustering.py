"""Clustering against independent oracles: OpenCV's NMSBoxes, scikit-learn's DBSCAN."""

import cv2
import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from candidates import object_candidates, reference_iou
from dashcam.config import ClassAttrs
from dashcam.inference.clustering import Scratch, cluster, dbscan, dbscan_labels, nms, overlap_at_least


def test_overlap_at_least_agrees_with_the_iou_definition():
    boxes, _ = object_candidates(np.random.default_rng(1), 200)
    iou = reference_iou(boxes)
    for threshold in (0.3, 0.5, 0.8):
        got = overlap_at_least(boxes, threshold, Scratch())
        clear = np.abs(iou - threshold) > 1e-5  # exact ties may round either way
        assert np.array_equal(got[clear], (iou >= threshold)[clear])


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_matches_opencv(seed, threshold):
    boxes, scores = object_candidates(np.random.default_rng(seed), 300)
    xywh = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in boxes]
    expected = np.array(cv2.dnn.NMSBoxes(xywh, scores.tolist(), 0.0, threshold)).reshape(-1)
    assert nms(boxes, scores, threshold).tolist() == expected.tolist()
    assert nms(boxes, scores, threshold, topk=5).tolist() == expected[:5].tolist()


def test_nms_suppresses_only_above_the_threshold():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 20], [0, 0, 10, 19]], np.float32)  # IoU 0.5 and 0.526
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [0, 1]


def sklearn_labels(boxes, weights, eps, min_samples):
    distance = 1.0 - reference_iou(boxes)
    return DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(
        distance, sample_weight=weights)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("eps,min_weight", [(0.2, 1), (0.3, 2), (0.5, 1), (0.13, 3)])
def test_dbscan_labels_match_scikit_learn(seed, eps, min_weight):
    boxes, scores = object_candidates(np.random.default_rng(100 + seed), 250)
    expected = sklearn_labels(boxes, scores, eps, min_weight)
    assert dbscan_labels(boxes, scores, eps, min_weight, Scratch()).tolist() == expected.tolist()


def test_dbscan_cluster_is_the_coverage_weighted_mean_with_summed_confidence():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [100, 100, 120, 120]], np.float32)
    scores = np.array([0.75, 0.25, 0.3], np.float32)
    merged, confidence = dbscan(boxes, scores, eps=0.5, min_weight=0.5)
    # the lone box has weight 0.3 < 0.5: noise; the pair is one cluster
    assert confidence.tolist() == pytest.approx([1.0])
    assert merged[0].tolist() == pytest.approx([0.25, 0.25, 10.25, 10.25])
    assert dbscan(boxes, scores, eps=0.5, min_weight=0.5, min_score=1.01)[0].shape == (0, 4)


def test_dbscan_matches_a_tao_style_reference():
    """TAO Deploy's algorithm as written: scikit-learn labels, then weighted means."""
    boxes, scores = object_candidates(np.random.default_rng(7), 300)
    labels = sklearn_labels(boxes, scores, 0.2, 2)
    expected = []
    for label in np.unique(labels[labels >= 0]):
        member = labels == label
        w = scores[member].astype(np.float64)
        expected.append((w.sum(), (boxes[member] * w[:, None]).sum(0) / w.sum()))
    expected.sort(key=lambda item: -item[0])
    merged, confidence = dbscan(boxes, scores, 0.2, 2.0)
    assert confidence.tolist() == pytest.approx([c for c, _ in expected], rel=1e-5)
    assert merged == pytest.approx(np.array([b for _, b in expected]), abs=1e-3)


def test_cluster_modes_and_topk():
    boxes, scores = object_candidates(np.random.default_rng(3), 200)
    params = ClassAttrs(topk=3, eps=0.3, minboxes=1.0)
    got_nms, _ = cluster(boxes, scores, 2, params)
    assert len(got_nms) == 3
    db_boxes, db_scores = cluster(boxes, scores, 1, ClassAttrs(topk=-1, eps=0.3, minboxes=1.0))
    hybrid_boxes, hybrid_scores = cluster(boxes, scores, 3, ClassAttrs(topk=-1, eps=0.3, minboxes=1.0))
    keep = nms(db_boxes, db_scores, 0.5)
    assert hybrid_boxes.tolist() == db_boxes[keep].tolist()
    none_boxes, none_scores = cluster(boxes, scores, 4, ClassAttrs(topk=10))
    assert none_scores.tolist() == sorted(scores.tolist(), reverse=True)[:10]


def test_empty_input():
    empty = np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
    for mode in (1, 2, 3, 4):
        boxes, scores = cluster(empty[0], empty[1], mode, ClassAttrs())
        assert boxes.shape == (0, 4) and scores.shape == (0,)
