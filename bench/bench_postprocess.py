"""Preprocessing, decoding and clustering speed (issue: foundation).

Run: python -m pytest bench/bench_postprocess.py --benchmark-enable -o python_files='bench_*.py'

Targets on a 2-core x86 machine: preprocessing a 1920x1080 frame <= 3 ms;
decode + NMS of one class with 500 candidates <= 1 ms; DBSCAN over 500
candidates <= 2 ms, and >= 5x faster than TAO Deploy's algorithm as written
(scikit-learn DBSCAN on a precomputed 1 - IoU matrix), with the same boxes.
"""

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from candidates import object_candidates
from dashcam.config import ClassAttrs
from dashcam.inference.clustering import Scratch, cluster, dbscan, nms
from dashcam.inference.detectnet import BBOX_SCALE, GridDecoder
from dashcam.inference.preprocess import Preprocessor

CANDIDATES = 500


def test_preprocess_1080p(benchmark):
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    preprocess = Preprocessor(544, 960)
    blob = benchmark(preprocess, frame)
    assert blob.shape == (1, 3, 544, 960)


def grid_with_candidates(count, seed=0):
    """cov/bbox tensors where exactly ``count`` car cells are above 0.4, boxes around objects."""
    rng = np.random.default_rng(seed)
    cov = np.zeros((4, 34, 60), np.float32)
    bbox = np.zeros((16, 34, 60), np.float32)
    cells = rng.choice(34 * 60, count, replace=False)
    gy, gx = np.unravel_index(cells, (34, 60))
    cov[0, gy, gx] = rng.uniform(0.41, 1.0, count)
    half = rng.uniform(20, 120, count) / BBOX_SCALE
    bbox[0, gy, gx], bbox[1, gy, gx] = half, half
    bbox[2, gy, gx], bbox[3, gy, gx] = half, half
    return cov, bbox


def test_decode_and_nms_500(benchmark):
    cov, bbox = grid_with_candidates(CANDIDATES)
    decoder = GridDecoder(34, 60, 16, 16, 544, 960)
    params = ClassAttrs()
    thresholds = np.array([0.4, 0.2, 0.2, 0.2], np.float32)

    def run():
        found = decoder.decode(cov, bbox, thresholds)
        return cluster(found.boxes, found.scores, 2, params)

    boxes, _ = benchmark(run)
    assert len(decoder.decode(cov, bbox, thresholds).scores) == CANDIDATES
    assert 0 < len(boxes) <= params.topk


@pytest.fixture(scope="module")
def candidates():
    return object_candidates(np.random.default_rng(0), CANDIDATES, objects=8)


def test_dbscan_500(benchmark, candidates):
    boxes, scores = candidates
    scratch = Scratch()
    merged, _ = benchmark(dbscan, boxes, scores, 0.2, 1.0, 0.0, scratch)
    assert len(merged) > 0


def tao_iou_vectorized(rects):
    """TAO Deploy's ``iou_vectorized`` (LTRB, float64), as written there."""
    l, t, r, b = rects.T
    isect_l = np.maximum(l[:, None], l[None, :])
    isect_t = np.maximum(t[:, None], t[None, :])
    isect_r = np.minimum(r[:, None], r[None, :])
    isect_b = np.minimum(b[:, None], b[None, :])
    isect_w = np.maximum(0, isect_r - isect_l)
    isect_h = np.maximum(0, isect_b - isect_t)
    area_isect = isect_w * isect_h
    areas = (r - l) * (b - t)
    denom = areas[:, None] + areas[None, :] - area_isect
    return area_isect / denom


def tao_dbscan(boxes, scores, eps, min_samples):
    """TAO's DBSCAN clustering: scikit-learn on 1 - IoU, then weighted means."""
    labels = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit_predict(
        1.0 - tao_iou_vectorized(boxes.astype(np.float64)), sample_weight=scores)
    out = []
    for label in np.unique(labels[labels >= 0]):
        member = labels == label
        w = scores[member]
        out.append((w.sum(), (boxes[member] * w[:, None]).sum(0) / w.sum()))
    out.sort(key=lambda item: -item[0])
    return np.array([b for _, b in out]), np.array([c for c, _ in out])


def test_baseline_tao_dbscan_500(benchmark, candidates):
    boxes, scores = candidates
    expected_boxes, expected_conf = benchmark(tao_dbscan, boxes, scores, 0.2, 1)
    ours_boxes, ours_conf = dbscan(boxes, scores, 0.2, 1.0)
    assert ours_conf == pytest.approx(expected_conf, rel=1e-5)
    assert ours_boxes == pytest.approx(expected_boxes, abs=1e-3)


def textbook_nms(boxes, scores, threshold):
    """The usual numpy NMS loop (no top-k early exit), for comparison."""
    x1, y1, x2, y2 = boxes.T.astype(np.float64)
    areas = (x2 - x1) * (y2 - y1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        iw = np.maximum(0.0, np.minimum(x2[i], x2[order[1:]]) - np.maximum(x1[i], x1[order[1:]]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[order[1:]]) - np.maximum(y1[i], y1[order[1:]]))
        inter = iw * ih
        order = order[1:][inter / (areas[i] + areas[order[1:]] - inter) <= threshold]
    return np.array(keep)


def test_baseline_textbook_nms_500(benchmark, candidates):
    boxes, scores = candidates
    keep = benchmark(textbook_nms, boxes, scores, 0.5)
    assert nms(boxes, scores, 0.5, 20).tolist() == keep[:20].tolist()
