"""Candidate boxes shaped like a DetectNet grid's: many per object, jittered."""

import numpy as np


def object_candidates(rng, count, objects=6):
    """Candidates scattered around a few objects, as a DetectNet grid gives them."""
    centres = rng.uniform([60, 60], [900, 480], (objects, 2))
    sizes = rng.uniform(30, 250, (objects, 2))
    which = rng.integers(0, objects, count)
    centre = centres[which] + rng.normal(0, 1, (count, 2)) * sizes[which] * 0.12
    size = sizes[which] * rng.uniform(0.85, 1.15, (count, 2))
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1).astype(np.float32)
    return boxes, rng.uniform(0.2, 1.0, count).astype(np.float32)


def reference_iou(boxes):
    """IoU by a plain double loop: the convention documented in dashcam.geometry."""
    out = np.zeros((len(boxes), len(boxes)))
    for i, a in enumerate(boxes.astype(np.float64)):
        for j, b in enumerate(boxes.astype(np.float64)):
            iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
            out[i, j] = iw * ih / union
    return out
