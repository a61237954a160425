"""Drawn labels: each caption takes a place where it hides no other caption."""

import cv2
import numpy as np

from dashcam.draw import COLOURS, PAD, draw_detections, label_place
from dashcam.records import Detection


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_labels_of_boxes_stacked_at_one_spot_never_overlap():
    box = (100, 100, 300, 200)
    taken = []
    for _ in range(6):   # six objects with the same top-left corner: a crowded crossing
        taken.append(label_place(box, (120, 20), taken, (1920, 1080)))
    assert all(not overlap(a, b) for i, a in enumerate(taken) for b in taken[i + 1:])
    assert taken[0] == (100, 80, 220, 100)       # the first sits on top of its box
    assert all(0 <= r[1] and r[3] <= 1080 for r in taken)


def test_a_label_at_the_top_edge_stays_inside_the_image():
    assert label_place((5, 0, 50, 40), (60, 20), [], (1920, 1080)) == (5, 0, 65, 20)
    assert label_place((1900, 500, 1920, 560), (60, 20), [], (1920, 1080))[2] == 1920


def test_two_objects_in_one_box_get_two_readable_captions():
    image = np.zeros((1080, 1920, 3), np.uint8)
    box = (100, 200, 400, 400)
    draw_detections(image, [Detection(0, "car", 0.9, *box), Detection(2, "person", 0.8, *box)])
    scale = image.shape[0] / 1600.0   # draw's caption scale at 1080 rows
    (width, height), _ = cv2.getTextSize("car 0.90", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    car = label_place(box, (width + PAD, height + PAD), [], (1920, 1080))
    assert car[3] == box[1]                                   # above its box
    assert tuple(image[car[1] + 1, car[0] + 1]) == COLOURS[0]  # not painted over
    # the person's caption went to the next free place, inside the box's top edge:
    # its right-hand padding (clear of text and of the box outline) has its colour
    (width, _), _ = cv2.getTextSize("person 0.80", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    assert tuple(image[box[1] + 6, box[0] + width + PAD - 1]) == COLOURS[2]
    assert tuple(image[box[1] - 6, box[0] + width + PAD - 1]) != COLOURS[2]
