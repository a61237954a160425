"""A frame-rate cap that one thread sets and another follows, frame by frame.

Parking mode slows the capture and inference workers down without rebuilding them: each
asks its ``FrameRate`` whether a frame is due, and the parking worker changes the rate.
"""

SLACK_S = 0.001


class FrameRate:
    """At most ``fps`` frames a second pass ``take``; ``fps`` None (the default): every frame.

    ``fps`` may be set from any thread (one attribute: a plain assignment is atomic);
    ``take`` is called by one thread only, its owner.
    """

    def __init__(self, fps=None):
        self.fps = fps
        self._next = None    # when the next frame is due (None: at once)

    def take(self, now):
        """Whether the frame at ``now`` (seconds) passes. Frames are due on a steady
        schedule, not each ``1 / fps`` after the last, so a 30 fps source capped at 10 gives
        10, not 7.5 (every fourth frame); a millisecond of slack absorbs rounding."""
        fps = self.fps
        if fps is None:
            self._next = None
            return True
        if self._next is not None and now < self._next - SLACK_S:
            return False
        interval = 1.0 / fps
        late = self._next is None or now - self._next >= interval
        self._next = now + interval if late else self._next + interval
        return True
