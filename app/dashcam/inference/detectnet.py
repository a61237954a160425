"""DetectNet_v2 ("GridBox") output decoding: grid tensors to candidate boxes.

For class ``c`` and grid cell ``(gy, gx)`` the network gives a coverage
``cov[c, gy, gx]`` and four box planes ``bbox[4c:4c+4, gy, gx] = o0..o3``.
With the cell centre ``cx = (stride_x * gx + 0.5) / 35`` (likewise ``cy``):
``x1 = (cx - o0) * 35``, ``y1 = (cy - o1) * 35``, ``x2 = (o2 + cx) * 35``,
``y2 = (o3 + cy) * 35`` in network-input pixels (bbox scale 35, offset 0.5:
the model card; DeepStream ``parseBoundingBox``; TAO Deploy ``BboxHandler``).
"""

from collections import namedtuple

import numpy as np

BBOX_SCALE = 35.0
BBOX_OFFSET = 0.5

Candidates = namedtuple("Candidates", "class_ids scores boxes")


class GridDecoder:
    """Vectorised decoding for one grid geometry (cell centres computed once)."""

    def __init__(self, grid_h, grid_w, stride_y, stride_x, net_h, net_w):
        self.net_h, self.net_w = net_h, net_w
        self.centre_x = ((np.arange(grid_w) * stride_x + BBOX_OFFSET) / BBOX_SCALE).astype(np.float32)
        self.centre_y = ((np.arange(grid_h) * stride_y + BBOX_OFFSET) / BBOX_SCALE).astype(np.float32)

    def decode(self, cov, bbox, thresholds):
        """Candidates above each class's threshold, boxes clipped to the input.

        ``cov`` is C x gh x gw, ``bbox`` 4C x gh x gw, ``thresholds`` has one
        value per class (a candidate needs coverage strictly above it, as in
        DeepStream). Empty boxes are dropped.
        """
        classes = cov.shape[0]
        mask = cov > np.asarray(thresholds, dtype=cov.dtype).reshape(classes, 1, 1)
        class_ids, gy, gx = np.nonzero(mask)
        scores = cov[class_ids, gy, gx]
        planes = bbox.reshape(classes, 4, bbox.shape[1], bbox.shape[2])
        offsets = planes[class_ids, :, gy, gx]  # n x 4
        cx, cy = self.centre_x[gx], self.centre_y[gy]
        boxes = np.empty((len(scores), 4), dtype=np.float32)
        boxes[:, 0] = (cx - offsets[:, 0]) * BBOX_SCALE
        boxes[:, 1] = (cy - offsets[:, 1]) * BBOX_SCALE
        boxes[:, 2] = (offsets[:, 2] + cx) * BBOX_SCALE
        boxes[:, 3] = (offsets[:, 3] + cy) * BBOX_SCALE
        np.clip(boxes[:, 0::2], 0.0, self.net_w, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0.0, self.net_h, out=boxes[:, 1::2])
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        return Candidates(class_ids[keep], scores[keep], boxes[keep])


def size_and_roi_mask(boxes, params, net_h):
    """DeepStream's per-class filters, in network-input pixels.

    ``detected-min-w/h``, ``detected-max-w/h`` (0: no limit) and the region of
    interest between ``roi-top-offset`` and ``net_h - roi-bottom-offset``.
    """
    width = boxes[:, 2] - boxes[:, 0]
    height = boxes[:, 3] - boxes[:, 1]
    keep = (width >= params.detected_min_w) & (height >= params.detected_min_h)
    if params.detected_max_w:
        keep &= width <= params.detected_max_w
    if params.detected_max_h:
        keep &= height <= params.detected_max_h
    if params.roi_top_offset:
        keep &= boxes[:, 1] >= params.roi_top_offset
    if params.roi_bottom_offset:
        keep &= boxes[:, 3] <= net_h - params.roi_bottom_offset
    return keep
