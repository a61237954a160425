"""A synthetic road world with ground truth: the camera, dataset and test source.

DashCamNet cannot ship with the project, so the stand-in model is trained, the
pipeline demonstrated and the tracker tested on frames drawn here::

    world = SyntheticWorld.from_uri("synthetic://?seed=7&fps=30&width=1920&height=1080")
    image, truths = world.frame(123)      # BGR uint8, [GroundTruth]

Frames are a pure function of (seed, index, size): any order, bit-identical.
"""

from dashcam.synthetic.world import DONTCARE, LABELS, GroundTruth, SyntheticWorld, parse_uri

__all__ = ("DONTCARE", "LABELS", "GroundTruth", "SyntheticWorld", "parse_uri")
