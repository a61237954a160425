"""The G-sensor: accelerometer sources (``sources``: I2C chips, ``chips``; recorded traces),
what their samples mean (``motion``) and the worker that raises ``impact`` and ``harsh_*``
events (``worker``)."""

import functools
import time

from dashcam.imu.motion import MotionDetector, Thresholds, impact_threshold
from dashcam.imu.sources import check_imu_source, open_imu_source
from dashcam.imu.worker import ImuWorker

__all__ = ("ImuWorker", "MotionDetector", "Thresholds", "build_imu", "check_imu_source",
           "open_imu_source", "thresholds")


def thresholds(section):
    """The detector's ``Thresholds`` from an ``[imu]`` section."""
    return Thresholds(impact_threshold(section.sensitivity), section.impact_min_duration,
                      section.harsh_braking, section.harsh_acceleration, section.harsh_cornering,
                      section.harsh_min_duration, section.still_threshold)


def build_imu(section, submit, open_imu=None, clock=time.monotonic, wall_clock=time.time,
              url=None):
    """The ``ImuWorker`` for ``[imu]`` (``section``), or None with ``source = none``.
    ``open_imu(url, rate, full_scale, clock)`` opens the source (``open_imu_source`` unless
    given: tests pass a chip on a stand-in bus); ``url``: the source as resolved for this
    camera (``synthetic.senses.sense_url``; ``section``'s if None)."""
    url = section.source if url is None else url
    if url in ("", "none", "auto"):
        return None
    opener = functools.partial(open_imu or open_imu_source, url, section.rate, section.range,
                               clock)
    detector = MotionDetector(thresholds(section),
                              None if section.forward == "auto" else section.forward)
    return ImuWorker(url, opener, detector, submit, rate=section.rate,
                     still_s=section.still_seconds, reopen_max=section.reopen_max, clock=clock,
                     wall_clock=wall_clock)
