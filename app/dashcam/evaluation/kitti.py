"""KITTI object labels: the text format TAO trains and evaluates DetectNet_v2 on.

One object per line, 15 space-separated fields (16 with a detection score)::

    type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y [score]

Only the type, truncation, occlusion and 2D box matter to a 2D detector; the
3D fields carry KITTI's "unknown" values (-1, -1000, -10) when written here.
"""

from collections import namedtuple

from dashcam.errors import DashcamError
from dashcam.records import DONTCARE

FIELDS_HELP = ("expected 15 or 16 space-separated fields: "
               "type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y")


class KittiObject(namedtuple("KittiObject", "type truncated occluded alpha x1 y1 x2 y2 "
                                            "h w l x y z rotation_y score")):
    """One label line. ``type`` keeps the file's spelling; ``score`` is None without a 16th field."""

    __slots__ = ()

    @property
    def box(self):
        return (self.x1, self.y1, self.x2, self.y2)

    @property
    def dontcare(self):
        return self.type.lower() == DONTCARE.lower()


def make_object(label, box, truncated=0.0, occluded=0, score=None):
    """A 2D-only object with KITTI's unknown 3D values; DontCare gets KITTI's -1 / -1 / -10."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if label.lower() == DONTCARE.lower():
        return KittiObject(label, -1.0, -1, -10.0, x1, y1, x2, y2,
                           -1.0, -1.0, -1.0, -1000.0, -1000.0, -1000.0, -10.0, score)
    return KittiObject(label, float(truncated), int(occluded), -10.0, x1, y1, x2, y2,
                       -1.0, -1.0, -1.0, -1000.0, -1000.0, -1000.0, -10.0, score)


def _num(value):
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def format_line(obj):
    """The label line of ``obj`` (no newline), numbers with two decimals as KITTI writes them."""
    fields = [obj.type, _num(obj.truncated), str(int(obj.occluded)), _num(obj.alpha)]
    fields += [_num(v) for v in (obj.x1, obj.y1, obj.x2, obj.y2, obj.h, obj.w, obj.l,
                                 obj.x, obj.y, obj.z, obj.rotation_y)]
    if obj.score is not None:
        fields.append(f"{obj.score:.4f}")
    return " ".join(fields)


def write_labels(path, objects):
    """Write one label file (an empty file for a frame without objects)."""
    text = "".join(format_line(o) + "\n" for o in objects)
    try:
        with open(str(path), "w") as handle:
            handle.write(text)
    except OSError as error:
        raise DashcamError("cannot write label file {}: {} (check the directory exists and is writable)"
                           .format(path, error.strerror or error))


def parse_line(text, where="<line>"):
    """One ``KittiObject`` from a label line; ``where`` names it in errors (``path:line``)."""
    parts = text.split()
    if len(parts) not in (15, 16):
        raise DashcamError(f"{where}: {len(parts)} fields ({FIELDS_HELP})")
    try:
        values = [float(v) for v in parts[1:]]
        occluded = int(values[1])
        if occluded != values[1]:
            raise ValueError("occluded must be an integer")
    except ValueError as error:
        raise DashcamError(f"{where}: {error} ({FIELDS_HELP})")
    score = values[14] if len(values) == 15 else None
    return KittiObject(parts[0], values[0], occluded, *values[2:14], score=score)


def read_labels(path):
    """All objects of one label file; blank lines are skipped, a malformed one raises DashcamError."""
    try:
        with open(str(path)) as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise DashcamError(f"cannot read label file {path}: {error.strerror or error}")
    objects = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            objects.append(parse_line(line, f"{path}:{number}"))
    return objects
