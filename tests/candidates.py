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
