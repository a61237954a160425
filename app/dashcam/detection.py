"""The detection record that every stage after the detector consumes."""

from collections import namedtuple

# DashCamNet's classes in output order (DeepStream labels_dashcamnet.txt, TAO
# Deploy's inferencer spec); a class id is an index here.
LABELS = ("car", "bicycle", "person", "road_sign")


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
