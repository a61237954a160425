"""Objects across frames: an IoU tracker, so that events are about objects, not frames.

A detection joins the live track of the same class whose last box overlaps it
most (greedy, highest IoU first, at least ``iou_threshold``), otherwise it starts
a tentative track. A tentative track is confirmed after ``min_hits`` matches in
a row (a single-frame false positive never becomes an object) and dies on its
first miss; a confirmed track ends when unmatched for ``max_age`` seconds. Time
is passed in: the tracker has no clock, no thread and no I/O, so it is tested
with made-up times. Ages use the monotonic clock (a wall clock set by NTP after
boot must not end every track); first/last seen are kept in UTC for the store.

The IOU tracker of Bochinski et al. (AVSS 2017) is the model: at dashcam frame
rates boxes of one object overlap strongly from frame to frame, so no motion
model is needed, and the cost is an IoU matrix of a few boxes per frame.
"""

from collections import namedtuple

import numpy as np

from dashcam.geometry import pairwise_iou


class TrackUpdate(namedtuple("TrackUpdate", "track_ids confirmed ended")):
    """What one ``IouTracker.update`` decided.

    ``track_ids``: a track id per input detection, same order. ``confirmed``:
    tracks that became objects in this update. ``ended``: confirmed tracks that
    were not seen for ``max_age`` seconds (objects that left).
    """

    __slots__ = ()


class Track(object):
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
        self.confirmed = False
        self.best_confidence = -1.0
        self.best_box = None
        self.history = []
        self._history_size = history_size
        self._history_interval = history_interval
        self.add(detection, t_mono, t_utc)

    def add(self, detection, t_mono, t_utc):
        self.hits += 1
        self.box = detection.box
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


class IouTracker(object):
    """Gives each detected object a track id that lasts while it stays in view.

    Defaults: ``iou_threshold`` 0.3, ``min_hits`` 3 frames, ``max_age`` 1.0 s,
    ``history_size`` 32 boxes at least ``history_interval`` 0.25 s apart.
    Track ids count up from 1 within one tracker (one run).
    """

    def __init__(self, iou_threshold=0.3, min_hits=3, max_age=1.0,
                 history_size=32, history_interval=0.25):
        self.iou_threshold = iou_threshold
        self.min_hits = min_hits
        self.max_age = max_age
        self.history_size = history_size
        self.history_interval = history_interval
        self.tracks = []
        self._next_id = 1

    def update(self, detections, t_mono, t_utc):
        """Match ``detections`` of the frame taken at ``t_mono``/``t_utc``; see ``TrackUpdate``."""
        track_ids = [None] * len(detections)
        matched_tracks = set()
        confirmed = []
        if self.tracks and detections:
            iou = pairwise_iou([t.box for t in self.tracks], [d.box for d in detections])
            same_class = (np.array([t.class_id for t in self.tracks])[:, None]
                          == np.array([d.class_id for d in detections])[None, :])
            for r, c in greedy_match(np.where(same_class, iou, 0.0), self.iou_threshold):
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
            elif not track.confirmed:
                continue  # a tentative track dies on its first miss
            elif t_mono - track.last_mono > self.max_age:
                ended.append(track)
            else:
                survivors.append(track)
        for c, detection in enumerate(detections):
            if track_ids[c] is None:
                track = Track(self._next_id, detection, t_mono, t_utc,
                              self.history_size, self.history_interval)
                self._next_id += 1
                track_ids[c] = track.track_id
                if track.hits >= self.min_hits:  # min_hits 1: an object at once
                    track.confirmed = True
                    confirmed.append(track)
                survivors.append(track)
        self.tracks = survivors
        return TrackUpdate(track_ids, confirmed, ended)

    def flush(self):
        """End every track (at shutdown); returns the confirmed ones, which have left."""
        ended = [t for t in self.tracks if t.confirmed]
        self.tracks = []
        return ended
