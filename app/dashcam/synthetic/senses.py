"""The synthetic world's GPS and IMU: what our own car's receiver and G-sensor would report
in a scenario (``scenarios.ego_motion``), so a run needs no hardware for speed, impacts,
parking or a GPX track.

Both are paced by their clock from the moment they are opened, which is the moment the
synthetic camera (opened alongside, in real time) shows frame 0: sample time ``t`` since
opening is world time ``t``, repetition ``t // PERIOD_S``. The plain world (no scenario)
drives each scene at its own steady speed. The GPS gives a fix a second
along a straight road from ``ORIGIN`` heading ``HEADING_DEG``; the IMU 100 samples a
second in g, the sensor's x forward (braking negative), y left, z up (+1 g at rest), with
a little noise drawn from the seed. Both implement ``dashcam.senses``' source protocol.
"""

import math
import threading
import time

import numpy as np

from dashcam.senses import Fix, Sample
from dashcam.synthetic.scenarios import G, SCENARIOS, EgoMotion, ego_motion
from dashcam.synthetic.scene import BLOCK_S, scenes_of_block

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


class PlainDrive:
    """Our ``EgoMotion`` in the plain world of ``seed``: each scene at its own steady speed,
    a cut (not an acceleration) between scenes, as its frames show."""

    def __init__(self, seed):
        self.seed = seed
        self._starts = {0: 0.0}     # block -> metres driven before it

    def _start(self, block):
        known = max(b for b in self._starts if b <= block)
        while known < block:
            self._starts[known + 1] = self._starts[known] + sum(
                s.ego_speed * s.duration for s in scenes_of_block(self.seed, known))
            known += 1
        return self._starts[block]

    def __call__(self, t):
        block = int(t // BLOCK_S)
        distance = self._start(block)
        for scene in scenes_of_block(self.seed, block):
            if t < scene.start + scene.duration:
                return EgoMotion(distance + scene.ego_s(t - scene.start), scene.ego_speed, 0.0)
            distance += scene.ego_s(scene.duration)
        raise AssertionError("the scenes of a block cover it")


class _Paced:
    """Readings due at ``hz`` from the opening on ``clock``; ``read`` waits for the next."""

    def __init__(self, scenario, seed, hz, clock, wall_clock):
        if scenario is not None and scenario not in SCENARIOS:
            raise ValueError("unknown scenario {!r}: use one of {}".format(
                scenario, ", ".join(SCENARIOS)))
        self.motion = (PlainDrive(int(seed)) if scenario is None
                       else lambda t: ego_motion(scenario, t))
        self.hz, self.clock = float(hz), clock
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
    """Fixes of our car in ``scenario`` (None: the plain world of ``seed``), one a second,
    3D (see the module)."""

    description = "synthetic GPS"

    def __init__(self, scenario, seed=0, clock=time.monotonic, wall_clock=time.time,
                 origin=ORIGIN):
        _Paced.__init__(self, scenario, seed, GPS_HZ, clock, wall_clock)
        self.origin = origin

    def read(self, timeout=1.0):
        """The newest fix due (older ones due at once are skipped, as a receiver's would be
        overwritten), or None when none came within ``timeout`` seconds."""
        due = self._due(timeout)
        if not due:
            return None
        self.count += due
        t = (self.count - 1) / self.hz
        motion = self.motion(t)
        lat, lon = position(motion.distance_m, self.origin)
        return Fix(self.opened_utc + t, lat, lon, self.origin[2], motion.speed_mps, HEADING_DEG, 3)


class SyntheticImu(_Paced):
    """Accelerometer samples of our car in ``scenario`` (None: the plain world of ``seed``),
    100 a second (see the module); ``seed`` draws the noise too."""

    description = "synthetic IMU"

    def __init__(self, scenario, seed=0, clock=time.monotonic, wall_clock=time.time,
                 noise_g=IMU_NOISE_G):
        _Paced.__init__(self, scenario, seed, IMU_HZ, clock, wall_clock)
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
            ax = self.motion(t).accel_mps2 / G
            n = noise[k]
            samples.append(Sample(self.opened + t, ax + n[0], n[1], 1.0 + n[2]))
        self.count += due
        return samples


def open_gps(scenario, seed=0, clock=time.monotonic, wall_clock=time.time):
    """The synthetic GPS (``[gps] source = synthetic``) of the camera's world, opened with
    it: ``scenario`` and ``seed`` as in its URI (``synthetic.parse_uri``; None: the plain
    world)."""
    return SyntheticGps(scenario, seed, clock, wall_clock)


def open_imu(scenario, seed=0, clock=time.monotonic, wall_clock=time.time):
    """The synthetic IMU (``[imu] source = synthetic``) of the camera's world, as
    ``open_gps``."""
    return SyntheticImu(scenario, seed, clock, wall_clock)


def sense_url(value, camera_uri):
    """The URL a ``[gps]`` or ``[imu]`` source opens: ``auto`` is the camera's synthetic world
    when it plays a scenario, else ``none``; ``synthetic`` is that world whatever it plays
    (a ConfigError under another camera); anything else is itself."""
    from dashcam.errors import ConfigError

    text = (value or "").strip()
    is_world = (camera_uri or "").startswith("synthetic://")
    if text == "auto":
        return camera_uri if is_world and "scenario=" in camera_uri else "none"
    if text == "synthetic":
        if not is_world:
            raise ConfigError(f"source = synthetic reads the synthetic camera's own car, but the "
                              f"camera is {camera_uri!r}: name the receiver or chip, or none")
        return camera_uri
    return text


def open_sense(kind, url, clock=time.monotonic):
    """``open_gps`` or ``open_imu`` (``kind``) of the world ``url`` (``synthetic://?...``)."""
    from dashcam.synthetic.world import parse_uri

    world = parse_uri(url)
    opener = open_gps if kind == "gps" else open_imu
    return opener(world.get("scenario"), world.get("seed", 0), clock=clock)
