"""The lead vehicle: the nearest object in our lane, its boxes merged into one, followed by frames.

Near contact the car ahead fills the frame and the detector covers it with
several overlapping boxes, which shift from frame to frame; the tracker
follows each as a track of its own and starts new ones as they shift, so a
rule judged per track warned once per fragment (seven critical warnings in
1.1 s at contact in ``synthetic://?scenario=brake``), some with a TTC made of
a fragment's growth. A rule with ``target = lead`` judges one object instead:
the boxes of a frame that overlap are merged into one (``merge``), the one
whose ground point is in the rule's region and lowest in the frame is the lead
(``select_lead``), and ``LeadHistory`` keeps its merged boxes across frames,
whichever tracks they came from, while it stays the same object
(``same_object``: overlapping, and not grown faster than an approach could make
it), so its TTC is the whole car's growth. Pure functions and
bookkeeping; times are passed in.
"""

import math
from collections import deque, namedtuple

from dashcam.alerts.rules import Sample, ground_point
from dashcam.geometry import as_boxes, areas, intersections, pairwise_iou

# Two boxes are parts of one object when they overlap by this IoU, or when this share
# of the smaller lies inside the larger. At contact in the brake scenario the stand-in's
# boxes on the one car overlap their neighbours by IoU 0.3 to 0.5; boxes of cars side by
# side in adjacent lanes barely touch, and a car seen past another's corner keeps most
# of its box outside the nearer one.
MERGE_IOU = 0.25
MERGE_INSIDE = 0.6
# The lead of the last frame and this frame's are one object when they share a track,
# or overlap this much (IoU), or the older box lies this much inside the newer (a car
# that grew 0.3 s nearer at a low frame rate).
SAME_IOU = 0.3
SAME_INSIDE = 0.7
# ... unless its height changed faster than an object this many seconds from contact
# grows (d ln h / dt = 1 / TTC): then another object took its place (a car cutting in
# close ahead; the synthetic world's cut to its next scene, which the tracker bridges),
# and its growth is no closing speed. The warning is wanted at a TTC of 3 s, so this
# leaves the approaches it judges alone.
JUMP_TTC_S = 0.25


class Part(namedtuple("Part", "box confidence label track_id confirmed")):
    """One detection of a frame: its box, confidence, label, track id (None: untracked) and
    whether that track is a confirmed object."""

    __slots__ = ()


class Blob(namedtuple("Blob", "box confidence label track_ids confirmed")):
    """Parts merged into one object: the union of their boxes, the highest confidence and its
    label, their track ids (sorted), and whether any of them is a confirmed object."""

    __slots__ = ()


def _inside_share(a, b):
    """Share of each box in ``a`` inside each box of ``b``: N x M."""
    inter = intersections(a, b)
    area = areas(a)[:, None]
    return inter / area.clip(1e-9, None)


def merge(parts, min_iou=MERGE_IOU, min_inside=MERGE_INSIDE):
    """``Blob``s of ``parts``: parts linked by overlap (IoU at least ``min_iou``, or at least
    ``min_inside`` of the smaller box inside the other), directly or through other parts,
    are one blob; blobs in the order of their first part."""
    if not parts:
        return []
    boxes = as_boxes([p.box for p in parts])
    inside = _inside_share(boxes, boxes)
    smaller_inside = (areas(boxes)[:, None] <= areas(boxes)[None, :]) * inside
    linked = (pairwise_iou(boxes, boxes) >= min_iou) | (smaller_inside >= min_inside)
    linked |= linked.T
    group = list(range(len(parts)))

    def root(i):
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in zip(*linked.nonzero()):
        group[root(int(i))] = root(int(j))
    members = {}
    for i in range(len(parts)):
        members.setdefault(root(i), []).append(parts[i])
    blobs = []
    for first in sorted(members, key=lambda r: parts.index(members[r][0])):
        chosen = members[first]
        best = max(chosen, key=lambda p: p.confidence)
        box = (min(p.box[0] for p in chosen), min(p.box[1] for p in chosen),
               max(p.box[2] for p in chosen), max(p.box[3] for p in chosen))
        blobs.append(Blob(box, best.confidence, best.label,
                          tuple(sorted(p.track_id for p in chosen if p.track_id is not None)),
                          any(p.confirmed for p in chosen)))
    return blobs


def select_lead(blobs, roi, frame_size):
    """The confirmed blob nearest us inside ``roi`` (a ``rules.Polygon``): the one whose
    ground point is inside and lowest in the frame, as on a level road the nearer of two
    objects stands lower; None when there is none."""
    width, height = frame_size
    inside = [b for b in blobs if b.confirmed and roi.contains(*ground_point(b.box, width, height))]
    return max(inside, key=lambda b: (b.box[3], b.box[3] - b.box[1])) if inside else None


def same_object(previous_box, previous_tracks, blob, dt):
    """Whether ``blob`` is the object whose box ``dt`` seconds ago was ``previous_box`` on
    tracks ``previous_tracks``: a height that changed no faster than ``JUMP_TTC_S`` allows,
    and a shared track or boxes that overlap (``SAME_IOU``, ``SAME_INSIDE``)."""
    before, now = previous_box[3] - previous_box[1], blob.box[3] - blob.box[1]
    if before <= 0 or now <= 0 or abs(math.log(now / before)) > max(dt, 1e-3) / JUMP_TTC_S:
        return False
    if set(previous_tracks) & set(blob.track_ids):
        return True
    old, new = as_boxes([previous_box]), as_boxes([blob.box])
    return bool(pairwise_iou(old, new)[0, 0] >= SAME_IOU
                or _inside_share(old, new)[0, 0] >= SAME_INSIDE)


class LeadHistory:
    """The lead's merged boxes of the last ``keep_s`` seconds, begun again when the lead
    becomes another object; ``fired`` is when a rule last warned of this lead (None: not yet).

    A frame without a lead keeps the history (a detector's missed frame), up to ``keep_s``.
    """

    def __init__(self, keep_s):
        self.keep_s = keep_s
        self.samples = deque()
        self.tracks = ()
        self.fired = None

    def update(self, blob, t_mono, t_utc):
        """The lead's samples, oldest first, with ``blob`` (this frame's lead, or None) added;
        [] when there is no lead now."""
        while self.samples and t_mono - self.samples[0].t_mono > self.keep_s:
            self.samples.popleft()
        if blob is None:
            return []
        last = self.samples[-1] if self.samples else None
        if last is None or not same_object(last.box, self.tracks, blob, t_mono - last.t_mono):
            self.samples.clear()
            self.fired = None
        self.samples.append(Sample(t_mono, t_utc, blob.box, float(blob.confidence)))
        self.tracks = blob.track_ids
        return list(self.samples)
