"""The records that cross threads: what a frame is, what it produced, what the run measured.

They are immutable tuples defined here, below every stage, so that the stage
that makes one and the stage that consumes it (capture and inference, inference
and the store, the store and its subscribers) share a shape without importing
each other.
"""

from collections import namedtuple

# DashCamNet's classes in output order (DeepStream labels_dashcamnet.txt, TAO
# Deploy's inferencer spec); a class id is an index here.
LABELS = ("car", "bicycle", "person", "road_sign")
# KITTI's label for a region that is neither to be found nor a false positive.
DONTCARE = "DontCare"


class Detection(namedtuple("Detection", "class_id label confidence x1 y1 x2 y2")):
    """One object box in source-frame pixels (x2, y2 exclusive edges, floats)."""

    __slots__ = ()

    @property
    def box(self):
        return (self.x1, self.y1, self.x2, self.y2)

    def as_dict(self):
        """The JSON shape of ``dashcam detect --json``."""
        return {
            "label": self.label,
            "class_id": self.class_id,
            "confidence": round(float(self.confidence), 4),
            "bbox": [round(float(v), 1) for v in self.box],
        }


class Frame(namedtuple("Frame", "index image t_mono t_utc prepared size")):
    """A captured image with its run-wide index and capture times (monotonic and UTC seconds).

    ``prepared``: the network input made ahead by the capture thread
    (``Prepared``), or None when the inference worker makes it. ``size``: the
    ``(width, height)`` of the camera's picture when ``image`` is a scaled copy of it
    (a CSI camera scaled on the VIC), else None; detections are in its coordinates.
    """

    __slots__ = ()

    @property
    def frame_size(self):
        """``(width, height)`` that detections, tracks and alerts measure in."""
        return self.size or (self.image.shape[1], self.image.shape[0])


Frame.__new__.__defaults__ = (None, None)  # namedtuple defaults= needs Python 3.7


class Prepared(namedtuple("Prepared", "blob scale_x scale_y seconds")):
    """A network input made ahead: the blob, its frame-to-network scales, the seconds it took."""

    __slots__ = ()


class FrameRecord(namedtuple("FrameRecord", "frame_index t_mono t_utc detections track_ids "
                                            "detect_s events tracks frame_size")):
    """What one frame produced: detections with their track ids, events, and track rows
    (``Track.as_row()`` snapshots with ``ended``) to write; ``detect_s`` is the detector's
    time; ``frame_size`` the frame's (width, height) in pixels (None if unknown).
    ``frame_index`` None: the tracker's final flush (events and tracks only)."""

    __slots__ = ()


FrameRecord.__new__.__defaults__ = (None,)


class StatsRecord(dict):
    """A ``stats`` row (see ``runtime.status.stats_row``) on its way to the store."""
