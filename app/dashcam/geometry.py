"""Box arithmetic, written once: areas, intersections, IoU, shares of a box covered.

Boxes are ``(x1, y1, x2, y2)`` with continuous coordinates and area
``(x2 - x1) * (y2 - y1)`` (no ``+ 1``), as OpenCV's ``NMSBoxes`` on ``Rect2d``
and TAO's ``iou_vectorized``. A pair whose union is empty has IoU 0.
Clustering, tracking and evaluation all measure overlap here.
"""

import numpy as np


def as_boxes(boxes, dtype=np.float64):
    """``boxes`` (any sequence of 4-tuples, or an array) as an N x 4 array."""
    return np.asarray(boxes, dtype=dtype).reshape(-1, 4)


def areas(boxes):
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def intersections(a, b):
    """Intersection area of every box in ``a`` (N x 4) with every box in ``b`` (M x 4)."""
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return np.clip(iw, 0, None) * np.clip(ih, 0, None)


def pairwise_iou(boxes_a, boxes_b):
    """IoU of every box in ``boxes_a`` with every box in ``boxes_b``: N x M float64."""
    a, b = as_boxes(boxes_a), as_boxes(boxes_b)
    inter = intersections(a, b)
    union = areas(a)[:, None] + areas(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_one(box, boxes, area=None, box_areas=None):
    """IoU of one box against many (in the boxes' dtype); pass known areas to skip them."""
    iw = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    ih = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.clip(iw, 0.0, None) * np.clip(ih, 0.0, None)
    if area is None:
        area = (box[2] - box[0]) * (box[3] - box[1])
    if box_areas is None:
        box_areas = areas(boxes)
    union = area + box_areas - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def covered_share(boxes, regions):
    """For each box, the largest share of its area inside any one region."""
    boxes, regions = as_boxes(boxes), as_boxes(regions)
    if not len(boxes) or not len(regions):
        return np.zeros(len(boxes))
    inter = intersections(boxes, regions)
    area = areas(boxes)[:, None]
    share = np.divide(inter, area, out=np.zeros_like(inter), where=area > 0)
    return share.max(axis=1)
