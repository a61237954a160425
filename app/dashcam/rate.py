"""A frame-rate cap that one thread sets and another follows, frame by frame.

Parking mode slows the capture and inference workers down without rebuilding them: each
asks its ``FrameRate`` whether a frame is due, and the parking worker changes the rate.
"""


class FrameRate:
    """At most ``fps`` frames a second pass ``take``; ``fps`` None (the default): every frame.

    ``fps`` may be set from any thread (one attribute: a plain assignment is atomic);
    ``take`` is called by one thread only, its owner.
    """

    def __init__(self, fps=None):
        self.fps = fps
        self._last = None

    def take(self, now):
        """Whether the frame at ``now`` (seconds) passes; if it does, it counts as the last."""
        fps = self.fps
        if fps is not None and self._last is not None and now - self._last < 1.0 / fps:
            return False
        self._last = now
        return True
