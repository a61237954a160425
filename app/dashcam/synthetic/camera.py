"""The dashcam's pinhole camera: road coordinates in metres to pixels.

Road coordinates: ``x`` lateral offset (metres, right positive) from the camera,
``y`` height above the road, ``z`` distance ahead along the road. The camera is
``HEIGHT_M`` above the road looking straight down it (no pitch), so the horizon
is a fixed row and every size scales as ``1 / z``.
"""

# Camera mounting height behind the windscreen of a car, metres.
HEIGHT_M = 1.4
# A 1.8 m wide car at 10 m spans 1.8 * 1.1 / 10 ~= 1/5 of the frame width
# (a ~49 degree horizontal field of view, a typical dashcam lens cropped to 16:9).
FOCAL_PER_WIDTH = 1.1
# Horizon row as a fraction of the frame height: the bonnet-free view of a
# windscreen camera shows a little more road than sky.
HORIZON_PER_HEIGHT = 0.42
# Nothing nearer than this is projected: it would be behind the lens or
# produce coordinates far outside the frame.
NEAR_M = 1.5


class Camera:
    """Projects road points for a frame of ``width`` x ``height`` pixels."""

    __slots__ = ("width", "height", "f", "cx", "hy")

    def __init__(self, width, height):
        self.width = int(width)
        self.height = int(height)
        self.f = FOCAL_PER_WIDTH * self.width
        self.cx = self.width / 2.0
        self.hy = float(round(HORIZON_PER_HEIGHT * self.height))

    def point(self, x, y, z):
        """Pixel (u, v) of road point (x, y, z); ``z`` must be > 0."""
        k = self.f / z
        return (self.cx + k * x, self.hy + k * (HEIGHT_M - y))

    def scale(self, z):
        """Pixels per metre at distance ``z``."""
        return self.f / z

    def ground_z(self, v):
        """Distance of the road point seen at row ``v`` (below the horizon)."""
        return self.f * HEIGHT_M / (v - self.hy)
