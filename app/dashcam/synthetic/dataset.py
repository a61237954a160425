"""Writes synthetic frames and their KITTI labels: the training and evaluation sets."""

import collections
import errno
import os
import time

import cv2

from dashcam.evaluation import kitti
from dashcam.errors import DashcamError
from dashcam.synthetic.world import LABELS

FORMATS = ("png", "jpg")


def truth_objects(truths):
    """KITTI objects for a frame's ground truth (labels as in ``LABELS``, or DontCare)."""
    return [kitti.make_object(t.label, t.box, t.truncated, t.occluded) for t in truths]


def _makedirs(path):
    try:
        os.makedirs(path)
    except OSError as error:
        if error.errno != errno.EEXIST or not os.path.isdir(path):
            raise DashcamError("cannot create {}: {} (choose a writable --out directory)".format(
                path, error.strerror or error))


def write_dataset(world, out, frames, start=0, image_format="png", step=1, progress=None):
    """Write ``frames`` frames from index ``start`` as ``out/images/NNNNNN.<fmt>`` and ``out/labels/NNNNNN.txt``.

    ``step`` > 1 takes every step-th frame: 300 consecutive frames are ten
    seconds of one scene, while 300 frames 30 apart span many scenes.

    ``progress(done, total, "frames")`` is told after each frame. Returns a
    summary: frames written, labelled objects per class, DontCare regions, and
    seconds taken.
    """
    if image_format not in FORMATS:
        raise DashcamError("image format {!r} is not supported (use one of: {})".format(
            image_format, ", ".join(FORMATS)))
    images, labels = os.path.join(out, "images"), os.path.join(out, "labels")
    for path in (out, images, labels):
        _makedirs(path)
    counts = collections.OrderedDict((name, 0) for name in LABELS + (kitti.DONTCARE,))
    began = time.monotonic()
    for index in range(start, start + frames * step, step):
        image, truths = world.frame(index)
        name = f"{index:06d}"
        image_path = os.path.join(images, name + "." + image_format)
        if not cv2.imwrite(image_path, image):
            raise DashcamError(f"cannot write image {image_path} (check free space and permissions)")
        kitti.write_labels(os.path.join(labels, name + ".txt"), truth_objects(truths))
        for truth in truths:
            counts[truth.label] += 1
        if progress:
            progress((index - start) // step + 1, frames, "frames")
    return {"frames": frames, "objects": counts, "seconds": time.monotonic() - began}
