"""What the vehicle's own sensors report, in the shape every stage reads: a GPS ``Fix`` and an
IMU ``Sample``. The GPS and IMU packages make them (from gpsd, NMEA, an I2C chip, a CSV trace
or the synthetic world's ego car); the stages that stamp, judge or publish read them. One
definition here, so a source and its readers never disagree on units.

A source is an object with ``read(timeout)`` (blocks at most ``timeout`` seconds; returns a
``Fix`` or a list of ``Sample``, None or [] when nothing new came) and ``close()``; it raises
``SensorError`` when its device is gone, so its worker can report and reopen it.
"""

from collections import namedtuple

from dashcam.errors import DashcamError

MPS_TO_KMH = 3.6


class SensorError(DashcamError, IOError):
    """A GPS receiver, gpsd, an IMU chip or a button line is missing, gone or unreadable."""


class Fix(namedtuple("Fix", "time lat lon alt speed heading mode")):
    """A GPS fix: ``time`` UTC epoch seconds (the receiver's), ``lat``/``lon`` degrees WGS84,
    ``alt`` metres (None in a 2D fix), ``speed`` m/s over ground, ``heading`` degrees from
    true north (None when unknown), ``mode`` 2 (2D) or 3 (3D). No fix is never a Fix."""

    __slots__ = ()

    @property
    def speed_kmh(self):
        return None if self.speed is None else self.speed * MPS_TO_KMH


class Sample(namedtuple("Sample", "t ax ay az")):
    """One accelerometer reading: ``t`` monotonic seconds, ``ax``/``ay``/``az`` in g along the
    sensor's own axes (gravity included; the IMU worker learns the mounting from it)."""

    __slots__ = ()
