"""Objects across frames: an IoU tracker, so that events are about objects, not frames.

A detection joins the live track of the same class whose box overlaps it most
(greedy, highest IoU first, at least the class's IoU threshold), otherwise it
starts a tentative track. A tentative track is confirmed after ``min_hits``
matches (a single-frame false positive never becomes an object) and dies
after more than ``tentative_misses`` missed frames; a confirmed track coasts
through missed frames and ends when unmatched for ``max_age`` seconds. Time
is passed in: the tracker has no clock, no thread and no I/O, so it is tested
with made-up times. Ages use the monotonic clock (a wall clock set by NTP after
boot must not end every track); first/last seen are kept in UTC for the store.

The IOU tracker of Bochinski et al. (AVSS 2017) is the model, with one
addition from SORT (Bewley et al., ICIP 2016) short of its Kalman filter: with
``motion`` a track is matched by where its box should be now (its last box
moved by a smoothed per-edge velocity), so an object that grows or crosses
fast, or was missed for a few frames, still overlaps its track. The cost stays
an IoU matrix of a few boxes per frame. The figures that chose the defaults
are in ``bench/bench_tracking.py`` and the README.
"""

from collections import namedtuple

import numpy as np

from dashcam.geometry import pairwise_iou

# Weight of the newest frame-to-frame step in a track's velocity (exponential
# smoothing: detector jitter of a pixel or two must not throw the prediction).
VELOCITY_GAIN = 0.5
# Seconds ahead a box is predicted at most, however long the track has coasted.
MAX_PREDICTION_S = 0.3


class TrackUpdate(namedtuple("TrackUpdate", "track_ids confirmed ended")):
    """What one ``IouTracker.update`` decided.

    ``track_ids``: a track id per input detection, same order. ``confirmed``:
    tracks that became objects in this update. ``ended``: confirmed tracks that
    were not seen for ``max_age`` seconds (objects that left).
    """

    __slots__ = ()


class Track:
    """One object: identity, first/last seen, best confidence, box history.

    ``history`` holds ``(t_utc, x1, y1, x2, y2)`` entries at least
    ``history_interval`` seconds apart; when it passes ``history_size`` every
    other entry is dropped and the interval doubles, so a long track keeps its
    whole life at a coarser step instead of only its end.
    """

    def __init__(self, track_id, detection, t_mono, t_utc, history_size, history_interval):
        self.track_id = track_id
        self.class_id = detection.class_id
        self.label = detection.label
        self.first_seen = t_utc
        self.first_mono = t_mono
        self.hits = 0
        self.misses = 0           # frames missed since the last match
        self.confirmed = False
        self.best_confidence = -1.0
        self.best_box = None
        self.velocity = None      # px/s of (x1, y1, x2, y2), smoothed; None until two boxes
        self.history = []
        self._history_size = history_size
        self._history_interval = history_interval
        self.add(detection, t_mono, t_utc)

    def add(self, detection, t_mono, t_utc):
        box = detection.box
        if self.hits:
            dt = t_mono - self.last_mono
            if dt > 0:
                step = [(b - a) / dt for a, b in zip(self.box, box)]
                self.velocity = step if self.velocity is None else [
                    VELOCITY_GAIN * s + (1.0 - VELOCITY_GAIN) * v
                    for s, v in zip(step, self.velocity)]
        self.hits += 1
        self.misses = 0
        self.box = box
        self.confidence = float(detection.confidence)
        self.last_seen = t_utc
        self.last_mono = t_mono
        if self.confidence > self.best_confidence:
            self.best_confidence = self.confidence
            self.best_box = self.box
        if not self.history or t_utc - self.history[-1][0] >= self._history_interval:
            self.history.append((t_utc,) + tuple(float(v) for v in self.box))
            if len(self.history) > self._history_size:
                self.history = self.history[::2]
                self._history_interval *= 2.0

    def predicted(self, t_mono):
        """Where the box should be at ``t_mono``: the last box moved by its velocity for at
        most ``MAX_PREDICTION_S`` (a guess further ahead is worse than none)."""
        if self.velocity is None:
            return self.box
        dt = min(t_mono - self.last_mono, MAX_PREDICTION_S)
        x1, y1, x2, y2 = (c + v * dt for c, v in zip(self.box, self.velocity))
        return (x1, y1, max(x1, x2), max(y1, y2))

    def as_row(self):
        """The ``tracks`` table's fields (times as epoch seconds).

        The history ends with the last box even when it came sooner than the
        history interval, so an object's last position is never lost.
        """
        history = list(self.history)
        if history[-1][0] != self.last_seen:
            history.append((self.last_seen,) + tuple(float(v) for v in self.box))
        return {
            "track_id": self.track_id, "label": self.label, "class_id": self.class_id,
            "first_seen": self.first_seen, "last_seen": self.last_seen, "frames": self.hits,
            "best_confidence": self.best_confidence, "best_box": self.best_box,
            "history": history,
        }

    def __repr__(self):
        return "Track({} {} hits={} confirmed={})".format(
            self.track_id, self.label, self.hits, self.confirmed)


def greedy_match(iou, threshold):
    """Pairs ``(row, col)`` taking the highest IoU first, each row and column once."""
    if iou.size == 0:
        return []
    rows, cols = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_rows, used_cols, pairs = set(), set(), []
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if r not in used_rows and c not in used_cols:
            used_rows.add(r)
            used_cols.add(c)
            pairs.append((r, c))
    return pairs


class IouTracker:
    """Gives each detected object a track id that lasts while it stays in view.

    Defaults: ``iou_threshold`` 0.2, ``min_hits`` 3 matches to confirm,
    ``tentative_misses`` 2 frames a tentative track may miss, ``max_age`` 1.0 s,
    ``motion`` on, ``confident`` 0.5, ``duplicate_iou`` 0.3, ``history_size`` 32
    boxes at least ``history_interval`` 0.25 s apart. Track ids count up from 1
    within one tracker (one run).

    Detections of at least ``confident`` confidence are matched first (the
    order of ByteTrack, Zhang et al., ECCV 2022, so a weak box cannot take a
    track from a strong one) and only they start tracks; weaker ones only
    continue tracks. A detection overlapping one that continued a track of its
    class by ``duplicate_iou`` or more is a second box on that object (NMS kept
    both: a box from the grid cell the object is leaving), not a new object.
    ``iou_threshold=0.3, tentative_misses=0, motion=False, confident=0,
    duplicate_iou=1.1`` is the tracker this project had first.
    """

    def __init__(self, iou_threshold=0.2, min_hits=3, max_age=1.0, history_size=32,
                 history_interval=0.25, tentative_misses=2, motion=True, confident=0.5,
                 duplicate_iou=0.3):
        self.iou_threshold = iou_threshold
        self.min_hits = min_hits
        self.max_age = max_age
        self.history_size = history_size
        self.history_interval = history_interval
        self.tentative_misses = tentative_misses
        self.motion = motion
        self.confident = confident
        self.duplicate_iou = duplicate_iou
        self.tracks = []
        self._next_id = 1

    def update(self, detections, t_mono, t_utc):
        """Match ``detections`` of the frame taken at ``t_mono``/``t_utc``; see ``TrackUpdate``."""
        track_ids = [None] * len(detections)
        strong = np.array([d.confidence >= self.confident for d in detections], dtype=bool)
        classes = np.array([d.class_id for d in detections])
        confirmed = []
        matched_tracks = set()
        for r, c in self._match(detections, strong, classes, t_mono):
            track = self.tracks[r]
            track.add(detections[c], t_mono, t_utc)
            track_ids[c] = track.track_id
            matched_tracks.add(r)
            if not track.confirmed and track.hits >= self.min_hits:
                track.confirmed = True
                confirmed.append(track)
        survivors, ended = [], []
        for index, track in enumerate(self.tracks):
            if index in matched_tracks:
                survivors.append(track)
                continue
            track.misses += 1
            if not track.confirmed:
                if track.misses <= self.tentative_misses:
                    survivors.append(track)   # else a false positive that came and went
            elif t_mono - track.last_mono > self.max_age:
                ended.append(track)
            else:
                survivors.append(track)
        for c in self._births(detections, track_ids, strong, classes):
            track = Track(self._next_id, detections[c], t_mono, t_utc,
                          self.history_size, self.history_interval)
            self._next_id += 1
            track_ids[c] = track.track_id
            if track.hits >= self.min_hits:  # min_hits 1: an object at once
                track.confirmed = True
                confirmed.append(track)
            survivors.append(track)
        self.tracks = survivors
        return TrackUpdate(track_ids, confirmed, ended)

    def _match(self, detections, strong, classes, t_mono):
        """(track index, detection index) pairs: strong detections first, then the rest."""
        if not self.tracks or not detections:
            return []
        boxes = [t.predicted(t_mono) if self.motion else t.box for t in self.tracks]
        iou = pairwise_iou(boxes, [d.box for d in detections])
        same_class = np.array([t.class_id for t in self.tracks])[:, None] == classes[None, :]
        allowed = same_class & (iou >= self.iou_threshold)
        pairs = greedy_match(np.where(allowed & strong[None, :], iou, 0.0), self.iou_threshold)
        rest = allowed & ~strong[None, :]
        for r, _ in pairs:
            rest[r, :] = False
        return pairs + greedy_match(np.where(rest, iou, 0.0), self.iou_threshold)

    def _births(self, detections, track_ids, strong, classes):
        """Indices of the detections that start tracks: strong, unmatched, not a duplicate."""
        unmatched = [c for c, i in enumerate(track_ids) if i is None and strong[c]]
        matched = [c for c, i in enumerate(track_ids) if i is not None]
        if not unmatched or not matched:
            return unmatched
        iou = pairwise_iou([detections[c].box for c in unmatched],
                           [detections[c].box for c in matched])
        same_class = classes[unmatched][:, None] == classes[matched][None, :]
        duplicate = ((iou >= self.duplicate_iou) & same_class).any(axis=1)
        return [c for c, dup in zip(unmatched, duplicate) if not dup]

    def flush(self):
        """End every track (at shutdown); returns the confirmed ones, which have left."""
        ended = [t for t in self.tracks if t.confirmed]
        self.tracks = []
        return ended
