"""Small video files for source and pipeline tests, written with OpenCV (mp4v)."""

import cv2
import numpy as np


def write_video(path, frames=12, size=(160, 96), fps=25.0):
    """Frames of uniform grey ``(20 * i) % 255``: bright ones light up ``colour_model``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened(), "this OpenCV cannot write mp4v"
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 20) % 255, np.uint8))
    writer.release()
    return str(path)


def read_back(path):
    """Every frame of a video file, decoded by OpenCV."""
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames
