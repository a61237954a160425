"""Detection accuracy by the DashCamNet model card's method.

Per class, detections are matched to ground truth one-to-one at IoU > 0.5,
greedily by confidence: the most confident detection first takes the
unmatched ground-truth box it overlaps most. Unmatched detections are false
positives, unmatched ground truth false negatives; precision, recall, F1 and
accuracy = TP / (TP + FP + FN) follow.

Some ground truth is neither missed nor false (the model card counts objects
of at least 10 px at 1920x1080): KITTI ``DontCare`` regions, and objects
whose height and width are both under the minimum size (scaled by the image
height / 1080). A detection that matches such an ignored object (IoU > 0.5)
or lies mostly inside a ``DontCare`` region is not counted at all.

There is one matcher (``match_class``); ``evaluate`` runs it over any
iterable of ``(image, truths)`` pairs, so the CLI (files on disk) and the
model trainer (the synthetic world) measure the same way.
"""

import os
from collections import OrderedDict, namedtuple

import numpy as np

from dashcam.errors import DashcamError, SourceError
from dashcam.geometry import as_boxes, covered_share, pairwise_iou
from dashcam.records import DONTCARE, LABELS

IOU_THRESHOLD = 0.5
DONTCARE_OVERLAP = 0.5   # share of a detection's area inside DontCare that excuses it
MIN_SIZE_1080 = 10.0     # model card: objects under 10 px at 1920x1080 are not counted
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# Label spellings seen in KITTI-style datasets, after lower-casing and turning
# spaces and hyphens into underscores. Labels not listed (e.g. "truck", "van")
# are not evaluated: the model has no such class.
ALIASES = {
    "car": "car", "cars": "car",
    "bicycle": "bicycle", "bike": "bicycle", "cyclist": "bicycle",
    "two_wheeler": "bicycle", "twowheeler": "bicycle",
    "person": "person", "pedestrian": "person", "people": "person",
    "road_sign": "road_sign", "roadsign": "road_sign", "sign": "road_sign",
    "traffic_sign": "road_sign",
    "dontcare": DONTCARE, "dont_care": DONTCARE,
}

Truth = namedtuple("Truth", "label x1 y1 x2 y2")


def canonical_label(name):
    """The class name (or ``DONTCARE``) that ``name`` means, or None if not evaluated."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key)


class Counts:
    """TP/FP/FN of one class and the figures derived from them (None when undefined)."""

    __slots__ = ("tp", "fp", "fn")

    def __init__(self, tp=0, fp=0, fn=0):
        self.tp, self.fp, self.fn = tp, fp, fn

    def add(self, tp, fp, fn):
        self.tp += tp
        self.fp += fp
        self.fn += fn

    @staticmethod
    def _ratio(num, den):
        return num / float(den) if den else None

    @property
    def precision(self):
        return self._ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self):
        return self._ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self):
        return self._ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self):
        return self._ratio(self.tp, self.tp + self.fp + self.fn)

    def as_dict(self):
        figures = [("precision", self.precision), ("recall", self.recall),
                   ("f1", self.f1), ("accuracy", self.accuracy)]
        out = OrderedDict([("tp", self.tp), ("fp", self.fp), ("fn", self.fn)])
        out.update((k, None if v is None else round(v, 4)) for k, v in figures)
        return out


def match_class(det_boxes, det_scores, gt_boxes, ignored_boxes=(), dontcare=(),
                iou_threshold=IOU_THRESHOLD, dontcare_overlap=DONTCARE_OVERLAP):
    """(tp, fp, fn) of one class in one image.

    Detections are taken by descending confidence (ties: given order); each
    takes the unmatched ground-truth box with the highest IoU, if that IoU
    is strictly above ``iou_threshold``. A detection left unmatched is not
    counted if it overlaps an ignored box by more than ``iou_threshold`` or
    has at least ``dontcare_overlap`` of its area inside a DontCare region.
    """
    det_boxes, gt_boxes = as_boxes(det_boxes), as_boxes(gt_boxes)
    order = np.argsort(-np.asarray(det_scores, dtype=np.float64), kind="stable")
    overlaps = pairwise_iou(det_boxes, gt_boxes)
    excused = np.zeros(len(det_boxes), dtype=bool)
    if len(as_boxes(ignored_boxes)):
        excused |= (pairwise_iou(det_boxes, ignored_boxes) > iou_threshold).any(axis=1)
    excused |= covered_share(det_boxes, dontcare) >= dontcare_overlap
    taken = np.zeros(len(gt_boxes), dtype=bool)
    tp = fp = 0
    for d in order:
        if len(gt_boxes):
            candidates = np.where(taken, -1.0, overlaps[d])
            best = int(np.argmax(candidates))
            if candidates[best] > iou_threshold:
                taken[best] = True
                tp += 1
                continue
        if not excused[d]:
            fp += 1
    return tp, fp, int(len(gt_boxes) - taken.sum())


def is_counted(box, min_size):
    """The model card's size rule: height or width at least ``min_size`` pixels."""
    return (box[3] - box[1]) >= min_size or (box[2] - box[0]) >= min_size


def evaluate_frame(detections, truths, image_height, min_size_1080=MIN_SIZE_1080, classes=LABELS):
    """Per-class (tp, fp, fn) of one image.

    ``detections`` are ``Detection`` records, ``truths`` ``Truth`` records with
    canonical labels (``canonical_label``); sizes are in this image's pixels.
    """
    min_size = min_size_1080 * image_height / 1080.0
    dontcare = [t[1:] for t in truths if t.label == DONTCARE]
    result = OrderedDict()
    for name in classes:
        mine = [t[1:] for t in truths if t.label == name]
        gts = [b for b in mine if is_counted(b, min_size)]
        ignored = [b for b in mine if not is_counted(b, min_size)]
        dets = [d for d in detections if (canonical_label(d.label) or d.label) == name]
        result[name] = match_class([d.box for d in dets], [d.confidence for d in dets],
                                   gts, ignored, dontcare)
    return result


def evaluate(samples, detect, min_size_1080=MIN_SIZE_1080, classes=LABELS):
    """Counts per class over ``(image, truths)`` pairs; ``detect(image)`` gives Detections."""
    totals = OrderedDict((name, Counts()) for name in classes)
    for image, truths in samples:
        frame = evaluate_frame(detect(image), truths, image.shape[0], min_size_1080, classes)
        for name, counts in frame.items():
            totals[name].add(*counts)
    return totals


def truths_from_kitti(objects):
    """``Truth`` records of the evaluated classes and DontCare from KITTI objects."""
    out = []
    for obj in objects:
        label = canonical_label(obj.type)
        if label is not None:
            out.append(Truth(label, obj.x1, obj.y1, obj.x2, obj.y2))
    return out


def truths_from_synthetic(ground_truths):
    """``Truth`` records from ``dashcam.synthetic`` ground truth (class_id -1: DontCare)."""
    return [Truth(DONTCARE if g.class_id < 0 else canonical_label(g.label) or g.label,
                  g.x1, g.y1, g.x2, g.y2) for g in ground_truths]


def dataset_pairs(images_dir, labels_dir):
    """(image path, label path) pairs matched by file stem, sorted by stem.

    Every image needs a label file and every label file an image: a dataset
    with holes would silently evaluate fewer frames.
    """
    def listing(directory, suffixes, what):
        try:
            names = sorted(os.listdir(directory))
        except OSError as error:
            raise SourceError(f"{what} directory {directory}: {error.strerror or error}")
        found = OrderedDict()
        for name in names:
            stem, suffix = os.path.splitext(name)
            if suffix.lower() in suffixes:
                if stem in found:
                    raise DashcamError("{}: two images named {!r} (e.g. .png and .jpg); keep one".format(
                        directory, stem))
                found[stem] = os.path.join(directory, name)
        return found

    images = listing(images_dir, IMAGE_SUFFIXES, "images")
    labels = listing(labels_dir, (".txt",), "labels")
    for stem, path in labels.items():
        if stem not in images:
            raise DashcamError("label file {} has no image {}.png/.jpg in {}; add it or remove the label".format(
                path, stem, images_dir))
    for stem, path in images.items():
        if stem not in labels:
            raise DashcamError("image {} has no label file {}.txt in {}; add it or remove the image".format(
                path, stem, labels_dir))
    if not images:
        raise DashcamError(f"no .png/.jpg images in {images_dir}")
    return [(images[stem], labels[stem]) for stem in images]


def load_dataset(pairs):
    """``(image, truths)`` for each pair: every label file is read (and checked) now,
    the images one at a time as the result is iterated."""
    from dashcam.evaluation.kitti import read_labels
    truths = [truths_from_kitti(read_labels(label_path)) for _, label_path in pairs]
    return _with_images(pairs, truths)


def _with_images(pairs, truths):
    import cv2
    for (image_path, _), frame_truths in zip(pairs, truths):
        image = cv2.imread(image_path, cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"cannot read image {image_path}; is it a valid PNG/JPEG?")
        yield image, frame_truths


def format_table(totals):
    """A fixed-width text table of the counts and figures per class."""
    header = "{:<10} {:>6} {:>6} {:>6} {:>9} {:>7} {:>6} {:>8}".format(
        "class", "tp", "fp", "fn", "precision", "recall", "f1", "accuracy")
    lines = [header]
    for name, counts in totals.items():
        figures = ["-" if v is None else f"{v:.3f}"
                   for v in (counts.precision, counts.recall, counts.f1, counts.accuracy)]
        lines.append("{:<10} {:>6} {:>6} {:>6} {:>9} {:>7} {:>6} {:>8}".format(
            name, counts.tp, counts.fp, counts.fn, *figures))
    return "\n".join(lines)
