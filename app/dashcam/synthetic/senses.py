"""The synthetic world's GPS and IMU: what our own car's receiver and G-sensor would report
in a scenario (``scenarios.ego_motion``), so a run needs no hardware for speed, impacts,
parking or a GPX track.

Both are paced by their clock from the moment they are opened, which is the moment the
synthetic camera (opened alongside, in real time) shows frame 0: sample time ``t`` since
opening is world time ``t``, repetition ``t // PERIOD_S``. The GPS gives a fix a second
along a straight road from ``ORIGIN`` heading ``HEADING_DEG``; the IMU 100 samples a
second in g, the sensor's x forward (braking negative), y left, z up (+1 g at rest), with
a little noise drawn from the seed. Both implement ``dashcam.senses``' source protocol.
"""

import math
import threading
import time

import numpy as np

from dashcam.senses import Fix, Sample
from dashcam.synthetic.scenarios import G, SCENARIOS, ego_motion

# A straight road (any fixed point will do: this one is on the A9 north of Munich).
ORIGIN = (48.3, 11.6, 480.0)     # lat, lon (degrees), altitude (m)
HEADING_DEG = 20.0
EARTH_M = 6371008.8              # mean Earth radius (IUGG), metres
GPS_HZ = 1.0
IMU_HZ = 100.0
IMU_NOISE_G = 0.004              # 1 sigma: an MPU-6050's noise at 100 Hz is about this


def position(distance_m, origin=ORIGIN, heading_deg=HEADING_DEG):
    """``(lat, lon)`` ``distance_m`` metres from ``origin`` along ``heading_deg`` (a local
    flat-earth step: exact enough over the few kilometres a demo drives)."""
    lat0, lon0 = math.radians(origin[0]), origin[1]
    heading = math.radians(heading_deg)
    north, east = distance_m * math.cos(heading), distance_m * math.sin(heading)
    return (origin[0] + math.degrees(north / EARTH_M),
            lon0 + math.degrees(east / (EARTH_M * math.cos(lat0))))


class _Paced:
    """Readings due at ``hz`` from the opening on ``clock``; ``read`` waits for the next."""

    def __init__(self, scenario, hz, clock, wall_clock):
        if scenario not in SCENARIOS:
            raise ValueError("unknown scenario {!r}: use one of {}".format(
                scenario, ", ".join(SCENARIOS)))
        self.scenario, self.hz, self.clock = scenario, float(hz), clock
        self.opened, self.opened_utc = clock(), wall_clock()
        self.count = 0                 # readings handed out so far
        self._closed = threading.Event()

    def _due(self, timeout):
        """How many readings are due now, after waiting up to ``timeout`` s for the next."""
        wait = self.opened + self.count / self.hz - self.clock()
        if wait > 0 and timeout > 0 and not self._closed.is_set():
            self._closed.wait(min(wait, timeout))
        elapsed = self.clock() - self.opened
        return max(0, int(math.floor(elapsed * self.hz + 1e-9)) + 1 - self.count)

    def close(self):
        self._closed.set()


class SyntheticGps(_Paced):
    """Fixes of our car in ``scenario``, one a second, 3D (see the module)."""

    description = "synthetic GPS"

    def __init__(self, scenario, clock=time.monotonic, wall_clock=time.time, origin=ORIGIN):
        _Paced.__init__(self, scenario, GPS_HZ, clock, wall_clock)
        self.origin = origin

    def read(self, timeout=1.0):
        """The newest fix due (older ones due at once are skipped, as a receiver's would be
        overwritten), or None when none came within ``timeout`` seconds."""
        due = self._due(timeout)
        if not due:
            return None
        self.count += due
        t = (self.count - 1) / self.hz
        motion = ego_motion(self.scenario, t)
        lat, lon = position(motion.distance_m, self.origin)
        return Fix(self.opened_utc + t, lat, lon, self.origin[2], motion.speed_mps, HEADING_DEG, 3)


class SyntheticImu(_Paced):
    """Accelerometer samples of our car in ``scenario``, 100 a second (see the module);
    ``seed`` draws the noise."""

    description = "synthetic IMU"

    def __init__(self, scenario, seed=0, clock=time.monotonic, wall_clock=time.time,
                 noise_g=IMU_NOISE_G):
        _Paced.__init__(self, scenario, IMU_HZ, clock, wall_clock)
        self.noise_g = noise_g
        self._rng = np.random.RandomState(int(seed) % (2 ** 32))

    def read(self, timeout=1.0):
        """Every sample due since the last read (at most a second's worth: what a chip's FIFO
        holds), [] when none came within ``timeout`` seconds."""
        due = self._due(timeout)
        if not due:
            return []
        self.count += max(0, due - int(self.hz))     # older ones were overwritten
        due = min(due, int(self.hz))
        noise = self._rng.normal(0.0, self.noise_g, size=(due, 3))
        samples = []
        for k in range(due):
            t = (self.count + k) / self.hz
            ax = ego_motion(self.scenario, t).accel_mps2 / G
            n = noise[k]
            samples.append(Sample(self.opened + t, ax + n[0], n[1], 1.0 + n[2]))
        self.count += due
        return samples


def open_gps(scenario, clock=time.monotonic, wall_clock=time.time):
    """The synthetic GPS of ``scenario`` (``[gps] source = synthetic``), opened now."""
    return SyntheticGps(scenario, clock, wall_clock)


def open_imu(scenario, seed=0, clock=time.monotonic, wall_clock=time.time):
    """The synthetic IMU of ``scenario`` (``[imu] source = synthetic``), opened now."""
    return SyntheticImu(scenario, seed, clock, wall_clock)
