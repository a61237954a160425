"""Clustering of DetectNet_v2 candidate boxes of one class: NMS, DBSCAN, hybrid.

IoU convention: ``dashcam.geometry``'s (continuous coordinates, no ``+ 1``,
as OpenCV's ``NMSBoxes`` on ``Rect2d`` and TAO's ``iou_vectorized``).

Everything is vectorised numpy; the only Python loops run once per *kept*
box (NMS, bounded by top-k) or once per *cluster* (DBSCAN), never per
candidate pair.
"""

import numpy as np

from dashcam.geometry import areas, iou_one

DBSCAN, NMS, HYBRID, NONE = 1, 2, 3, 4  # DeepStream cluster-mode values


class Scratch:
    """Reusable N x N buffers for pairwise work.

    Allocating fresh 1 MB arrays per call costs more than the arithmetic on
    them (page faults): with these buffers DBSCAN over 500 boxes runs in a
    quarter of the time. One per detector; not shared between threads.
    """

    def __init__(self):
        self._buffers = {}

    def get(self, name, count, dtype=np.float32):
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < count * count:
            buffer = self._buffers[name] = np.empty(max(count * count, 4096), dtype)
        return buffer[:count * count].reshape(count, count)


def _intersections(boxes, scratch):
    """Pairwise intersection areas (N x N float32) computed in place in scratch buffers:
    ``geometry.intersections`` without its temporaries, for DBSCAN's hot loop."""
    count = len(boxes)
    x1, y1, x2, y2 = (np.ascontiguousarray(c, dtype=np.float32) for c in boxes.T)
    iw, ih, tmp = (scratch.get(name, count) for name in ("iw", "ih", "tmp"))
    np.minimum(x2[:, None], x2[None, :], out=iw)
    iw -= np.maximum(x1[:, None], x1[None, :], out=tmp)
    np.maximum(iw, 0, out=iw)
    np.minimum(y2[:, None], y2[None, :], out=ih)
    ih -= np.maximum(y1[:, None], y1[None, :], out=tmp)
    np.maximum(ih, 0, out=ih)
    iw *= ih
    return iw


def overlap_at_least(boxes, threshold, scratch=None):
    """N x N booleans: IoU >= ``threshold`` (0 < threshold <= 1).

    ``inter / (a + b - inter) >= t`` is rewritten as
    ``inter >= t / (1 + t) * (a + b)``: no division, no union matrix.
    Boxes must have positive area (the decoder drops empty ones).
    """
    scratch = scratch or Scratch()
    count = len(boxes)
    inter = _intersections(boxes, scratch)
    scaled = areas(boxes).astype(np.float32) * np.float32(threshold / (1.0 + threshold))
    bound = np.add(scaled[:, None], scaled[None, :], out=scratch.get("tmp", count))
    return np.greater_equal(inter, bound, out=scratch.get("mask", count, bool))


def nms(boxes, scores, iou_threshold, topk=-1):
    """Indices kept by greedy NMS, best first.

    Boxes are visited by descending score (ties: lower index first); a box
    is suppressed when its IoU with a kept box is above ``iou_threshold``.
    Stops after ``topk`` kept boxes (-1: no limit).
    """
    order = np.argsort(-scores, kind="stable")
    ordered = boxes[order]
    ordered_areas = areas(ordered)
    remaining = np.arange(len(order))
    keep = []
    while remaining.size and (topk < 0 or len(keep) < topk):
        best = remaining[0]
        keep.append(best)
        rest = remaining[1:]
        overlap = iou_one(ordered[best], ordered[rest], ordered_areas[best], ordered_areas[rest])
        remaining = rest[overlap <= iou_threshold]
    return order[np.array(keep, dtype=np.intp)]


def dbscan_labels(boxes, weights, eps, min_weight, scratch=None):
    """DBSCAN cluster label per box (-1: noise), scikit-learn's semantics.

    Distance is ``1 - IoU``; neighbours are within ``eps`` (inclusive); a box
    is a core box when the total weight of its neighbourhood (itself
    included) reaches ``min_weight``. Clusters are numbered in the order of
    their lowest-index core box, and a border box joins the first cluster
    that reaches it, as ``sklearn.cluster.DBSCAN`` does.
    """
    count = len(boxes)
    labels = np.full(count, -1, dtype=np.intp)
    if count == 0:
        return labels
    scratch = scratch or Scratch()
    if eps >= 1.0:
        neighbours = np.ones((count, count), dtype=bool)
    else:
        neighbours = overlap_at_least(boxes, 1.0 - eps, scratch)
    weighted = np.multiply(neighbours, weights.astype(np.float32)[None, :], out=scratch.get("tmp", count))
    core = weighted.sum(axis=1) >= min_weight
    cluster = 0
    for seed in np.flatnonzero(core):
        if labels[seed] != -1:
            continue
        labels[seed] = cluster
        frontier = np.array([seed])
        while frontier.size:
            reached = np.flatnonzero(neighbours[frontier].any(axis=0) & (labels == -1))
            labels[reached] = cluster
            frontier = reached[core[reached]]
        cluster += 1
    return labels


def dbscan(boxes, scores, eps, min_weight, min_score=0.0, scratch=None):
    """TAO's DBSCAN clustering: one box per cluster.

    Each candidate is weighted by its coverage; the cluster box is the
    coverage-weighted mean of its members, its confidence the sum of their
    coverages (so it may exceed 1). Clusters under ``min_score`` are dropped.
    Returns ``(boxes, confidences)`` sorted by descending confidence.
    """
    labels = dbscan_labels(boxes, scores, eps, min_weight, scratch)
    member = labels >= 0
    if not member.any():
        return boxes[:0], scores[:0]
    ids, w = labels[member], scores[member]
    clusters = ids.max() + 1
    confidence = np.bincount(ids, weights=w, minlength=clusters)
    merged = np.stack([np.bincount(ids, weights=w * boxes[member, k], minlength=clusters)
                       for k in range(4)], axis=1) / confidence[:, None]
    keep = confidence >= min_score
    merged, confidence = merged[keep], confidence[keep]
    order = np.argsort(-confidence, kind="stable")
    return merged[order].astype(boxes.dtype), confidence[order].astype(scores.dtype)


def cluster(boxes, scores, mode, params, scratch=None):
    """Cluster one class's candidates with DeepStream's ``cluster-mode``.

    ``params`` has the ``[class-attrs-N]`` fields (``nms_iou_threshold``,
    ``topk``, ``eps``, ``minboxes``, ``dbscan_min_score``). Returns
    ``(boxes, confidences)``, best first, at most ``topk`` of them.
    """
    if mode in (DBSCAN, HYBRID):
        boxes, scores = dbscan(boxes, scores, params.eps, params.minboxes, params.dbscan_min_score, scratch)
    if mode in (NMS, HYBRID):
        keep = nms(boxes, scores, params.nms_iou_threshold, params.topk)
        return boxes[keep], scores[keep]
    order = np.argsort(-scores, kind="stable")
    if params.topk >= 0:
        order = order[:params.topk]
    return boxes[order], scores[order]
