"""Boxes and labels drawn on a frame, for ``detect --draw``, the preview and snapshots.

Every box is drawn before any label, and each label takes the first place
(above its box, inside its top edge, below it, then lower steps) where it
covers no label drawn before it, so crowded scenes stay readable.
"""

import cv2

# BGR, one per DashCamNet class; other classes cycle through them.
COLOURS = ((0, 200, 255), (255, 160, 0), (80, 220, 80), (200, 80, 255))
PAD = 4  # pixels around a caption's text


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def label_place(box, size, taken, image_size):
    """The top-left corner for a caption of ``size`` (w, h) at ``box``, clear of ``taken``.

    ``taken`` holds the rectangles of captions already placed; ``image_size``
    is (width, height). When no place is clear the first candidate is used.
    """
    (x1, y1, _, y2), (width, height), (image_w, image_h) = box, size, image_size
    x = min(max(0, x1), max(0, image_w - width))
    tops = [y1 - height, y1, y2]
    tops += [y2 + k * height for k in range(1, 8)]
    first = None
    for top in tops:
        top = min(max(0, top), max(0, image_h - height))
        rect = (x, top, x + width, top + height)
        first = first or rect
        if not any(_overlaps(rect, other) for other in taken):
            return rect
    return first


def track_name(label, track_id):
    """A box's caption prefix: ``#7 car`` for track 7, ``car`` for a box no track holds."""
    return label if track_id is None else f"#{track_id} {label}"


def draw_detections(image, detections, names=None):
    """Draw ``detections`` on ``image`` in place; ``names`` optionally replaces each caption prefix."""
    thickness = max(1, image.shape[0] // 360)
    scale = max(0.4, image.shape[0] / 1600.0)
    boxes = []
    for det in detections:
        colour = COLOURS[det.class_id % len(COLOURS)]
        x1, y1, x2, y2 = (int(round(v)) for v in det.box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness)
        boxes.append((x1, y1, x2, y2))
    taken = []
    for index, (det, box) in enumerate(zip(detections, boxes)):
        colour = COLOURS[det.class_id % len(COLOURS)]
        caption = f"{names[index] if names else det.label} {det.confidence:.2f}"
        (width, height), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        rect = label_place(box, (width + PAD, height + PAD), taken,
                           (image.shape[1], image.shape[0]))
        taken.append(rect)
        cv2.rectangle(image, rect[:2], rect[2:], colour, -1)
        cv2.putText(image, caption, (rect[0] + 2, rect[3] - 3), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), 1, cv2.LINE_AA)
    return image
