"""Camera frame to network input: BGR or BGRx uint8 of any size to RGB NCHW float32.

The output buffer is allocated once; a 1920x1080 frame is resized and
scaled into it with no per-frame allocation (``bench/bench_postprocess.py``
measures it; the README gives the figure). A frame already at the network's
size (a CSI camera scaled on the VIC) skips the resize: one pass over its pixels.
"""

import cv2
import numpy as np

from dashcam.errors import SourceError


class Preprocessor:
    """Resize, BGR to RGB, scale and transpose into one reused NCHW buffer.

    ``scale`` is nvinfer's ``net-scale-factor`` (default 1/255, DashCamNet's).
    A fourth channel (BGRx, BGRA) is ignored. After each call,
    ``scale_x``/``scale_y`` map network pixels to frame pixels.
    """

    def __init__(self, height, width, scale=1.0 / 255.0):
        self.height, self.width = height, width
        self.scale = np.float32(scale)
        self.blob = np.empty((1, 3, height, width), dtype=np.float32)
        self._resized = {}   # channels -> the resize buffer
        self.scale_x = self.scale_y = 1.0

    def __call__(self, frame, size=None):
        """The network input for ``frame``; ``size``: the ``(width, height)`` that boxes are
        measured in, when ``frame`` is a scaled copy of a larger picture (default: its own)."""
        if frame is None or frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
            raise SourceError("frame must be an H x W x 3 (BGR) or 4 (BGRx) uint8 image, got {}".format(
                "None" if frame is None else f"{frame.shape} {frame.dtype}"))
        frame_h, frame_w = frame.shape[:2]
        if (frame_h, frame_w) == (self.height, self.width):
            resized = frame
        else:
            resized = cv2.resize(frame, (self.width, self.height), dst=self._buffer(frame.shape[2]),
                                 interpolation=cv2.INTER_LINEAR)
        # Channel order flips here: plane 0 (R) comes from BGR channel 2.
        for plane in range(3):
            np.multiply(resized[:, :, 2 - plane], self.scale, out=self.blob[0, plane], dtype=np.float32)
        width, height = size or (frame_w, frame_h)
        self.scale_x = width / float(self.width)
        self.scale_y = height / float(self.height)
        return self.blob

    def _buffer(self, channels):
        buffer = self._resized.get(channels)
        if buffer is None:
            buffer = self._resized[channels] = np.empty((self.height, self.width, channels),
                                                        dtype=np.uint8)
        return buffer
