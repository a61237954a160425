"""Boxes and labels drawn on a frame, for ``detect --draw`` and the preview."""

import cv2

# BGR, one per DashCamNet class; other classes cycle through them.
COLOURS = ((0, 200, 255), (255, 160, 0), (80, 220, 80), (200, 80, 255))


def draw_detections(image, detections, names=None):
    """Draw ``detections`` on ``image`` in place; ``names`` optionally replaces each caption prefix."""
    thickness = max(1, image.shape[0] // 360)
    scale = max(0.4, image.shape[0] / 1600.0)
    for index, det in enumerate(detections):
        colour = COLOURS[det.class_id % len(COLOURS)]
        x1, y1, x2, y2 = (int(round(v)) for v in det.box)
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness)
        caption = "{} {:.2f}".format(names[index] if names else det.label, det.confidence)
        (width, height), _ = cv2.getTextSize(caption, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(0, y1 - height - 4)
        cv2.rectangle(image, (x1, top), (x1 + width + 4, top + height + 4), colour, -1)
        cv2.putText(image, caption, (x1 + 2, top + height + 1), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), 1, cv2.LINE_AA)
    return image
