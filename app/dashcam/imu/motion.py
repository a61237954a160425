"""What the accelerometer's samples mean for the vehicle: pure decisions, time passed in.

The chip sits at any angle behind the windscreen. At rest it measures gravity alone (+1 g
up), so ``Mounting`` takes the mean of a still stretch as the up axis. The forward axis
is configured (the chip axis that points ahead), or learned from the first clear
horizontal acceleration after a rest: a dashcam starts with the engine, and the first
thing a parked car does is pull away. Every sample is then turned into the vehicle frame:
longitudinal (+ ahead), lateral (+ left) and vertical, gravity removed.

- ``impact``: ``|a - g|`` (any direction, unsmoothed: a knock lasts milliseconds) at or
  above a threshold for a minimum time. Consumer dashcams offer it as a sensitivity;
  ``SENSITIVITY`` names three, or a number of g.
- ``harsh_braking`` / ``harsh_acceleration`` / ``harsh_cornering``: the longitudinal or
  lateral component, smoothed over ``SMOOTH_S`` so that road vibration does not count,
  beyond fleet telematics' thresholds (about 0.4-0.5 g) for a minimum time. They need the
  forward axis; until it is known only impacts are judged.
- still: ``|a - g|`` below ``still_g`` since ``rest_since`` (the parking helper asks).

An episode is reported once, when it ends (with its peak and duration) or, if it lasts,
after ``LONGEST_S``: an impact reaches the LED within that bound.
"""

import math
from collections import namedtuple

from dashcam import events as ev

SENSITIVITY = {"low": 2.0, "medium": 1.2, "high": 0.7}   # impact thresholds, g beyond gravity
SMOOTH_S = 0.1          # time constant of the harsh-driving components
GRAVITY_S = 10.0        # time constant of the gravity estimate before a rest has fixed it
                        # (long: a braking must not pass for gravity)
REST_S = 1.0            # a still stretch this long fixes gravity (and starts "still")
LEARN_G, LEARN_S = 0.15, 0.5   # horizontal g held this long after a rest: forward learned
LONGEST_S = 1.0         # an episode still going is reported after this long
RELEASE = 0.8           # an episode ends below this fraction of its threshold (hysteresis)
IMPACT_COOLDOWN_S = 2.0  # bounces of one knock are one impact
EPS = 1e-6              # sample times from a trace: 1.51 - 1.50 may be 0.00999...

AXES = {"+x": (1.0, 0.0, 0.0), "-x": (-1.0, 0.0, 0.0), "+y": (0.0, 1.0, 0.0),
        "-y": (0.0, -1.0, 0.0), "+z": (0.0, 0.0, 1.0), "-z": (0.0, 0.0, -1.0)}

Thresholds = namedtuple("Thresholds", "impact_g impact_min_s braking_g acceleration_g "
                                      "cornering_g harsh_min_s still_g")
Finding = namedtuple("Finding", "kind start end peak threshold")


def impact_threshold(sensitivity):
    """g for ``low`` / ``medium`` / ``high``, or a number of g given as text."""
    if sensitivity in SENSITIVITY:
        return SENSITIVITY[sensitivity]
    value = float(sensitivity)
    if not 0.1 <= value <= 16.0:
        raise ValueError(sensitivity)
    return value


def _sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _scale(a, k):
    return (a[0] * k, a[1] * k, a[2] * k)


def _norm(a):
    return math.sqrt(_dot(a, a))


def _unit(a):
    n = _norm(a)
    return _scale(a, 1.0 / n) if n > 0 else None


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


class Mounting:
    """How the chip sits: ``gravity`` (its own axes, g) and ``forward`` (a unit vector in
    its axes, or None while unknown). ``rotation()``: the rows (ahead, left, up)."""

    def __init__(self, gravity=None, forward=None):
        self.gravity = gravity
        self.forward = forward
        self.learned = False   # gravity from a rest, not only the running estimate

    def rotation(self):
        """The vehicle frame's axes in the chip's axes, or None while either is unknown."""
        up = _unit(self.gravity) if self.gravity else None
        if up is None or self.forward is None:
            return None
        ahead = _unit(_sub(self.forward, _scale(up, _dot(self.forward, up))))
        if ahead is None:
            return None   # the configured axis is vertical as mounted
        return ahead, _cross(up, ahead), up


class Episode:
    """A quantity at or above ``threshold`` for at least ``min_s``; ``update(t, value)``
    returns the ``Finding`` once (see the module's docstring), else None."""

    def __init__(self, kind, threshold, min_s, cooldown_s=0.0):
        self.kind, self.threshold, self.min_s, self.cooldown_s = kind, threshold, min_s, cooldown_s
        self.start = None
        self.fired_end = None   # when the last reported episode ended

    def update(self, t, value):
        if self.start is None:
            cooling = self.fired_end is not None and t - self.fired_end < self.cooldown_s
            if value >= self.threshold and not cooling:
                self.start = self.last = t
                self.peak, self.fired = value, False
            return None
        if value >= self.threshold * RELEASE:
            self.peak, self.last = max(self.peak, value), t
            if not self.fired and t - self.start >= LONGEST_S and self._long_enough():
                self.fired = True
                return self._finding()
            return None
        finding = None if self.fired or not self._long_enough() else self._finding()
        if finding is not None or self.fired:
            self.fired_end = self.last
        self.start = None
        return finding

    def _long_enough(self):
        return self.last - self.start + EPS >= self.min_s

    def _finding(self):
        return Finding(self.kind, self.start, self.last, self.peak, self.threshold)


class MotionDetector:
    """Samples in, ``Finding``s out (``update``); ``mounting`` and ``rest_since`` as learned.

    ``forward``: an ``AXES`` key, or None to learn it."""

    def __init__(self, thresholds, forward=None):
        self.thresholds = th = thresholds
        self.mounting = Mounting(forward=AXES[forward] if forward else None)
        self.impact = Episode(ev.IMPACT, th.impact_g, th.impact_min_s, IMPACT_COOLDOWN_S)
        self.harsh = [Episode(ev.HARSH_BRAKING, th.braking_g, th.harsh_min_s),
                      Episode(ev.HARSH_ACCELERATION, th.acceleration_g, th.harsh_min_s),
                      Episode(ev.HARSH_CORNERING, th.cornering_g, th.harsh_min_s)]
        self.rest_since = None          # sample time since which it has been still
        self._rest_sum, self._rest_n = (0.0, 0.0, 0.0), 0
        self._learn = None              # (since, summed horizontal g) while forward is learned
        self._smooth = None             # (longitudinal, lateral), smoothed
        self._t = None

    def still(self, now, seconds):
        """Whether the samples have been still for ``seconds`` at ``now``."""
        return self.rest_since is not None and now - self.rest_since >= seconds

    def update(self, sample):
        a = (sample.ax, sample.ay, sample.az)
        t = sample.t
        dt = 0.0 if self._t is None else max(0.0, t - self._t)
        self._t = t
        mounting = self.mounting
        if mounting.gravity is None:
            mounting.gravity = a
        d = _sub(a, mounting.gravity)
        magnitude = _norm(d)
        self._track_rest(t, a, magnitude)
        if not mounting.learned and magnitude < self.thresholds.impact_g:
            mounting.gravity = _add_toward(mounting.gravity, a, dt / GRAVITY_S)
        findings = [self.impact.update(t, magnitude)]
        rotation = mounting.rotation()
        if rotation is None:
            self._learn_forward(t, d)
        else:
            ahead, left = _dot(d, rotation[0]), _dot(d, rotation[1])
            k = min(1.0, dt / SMOOTH_S)
            lon, lat = self._smooth or (ahead, left)
            self._smooth = lon, lat = lon + (ahead - lon) * k, lat + (left - lat) * k
            braking, acceleration, cornering = self.harsh
            findings += [braking.update(t, -lon), acceleration.update(t, lon),
                         cornering.update(t, abs(lat))]
        return [f for f in findings if f is not None]

    def _track_rest(self, t, a, magnitude):
        """A still stretch of ``REST_S`` fixes gravity to its mean (again at every rest: a
        mount that was knocked is learned anew)."""
        if magnitude >= self.thresholds.still_g:
            self.rest_since, self._rest_sum, self._rest_n = None, (0.0, 0.0, 0.0), 0
            return
        if self.rest_since is None:
            self.rest_since = t
        self._rest_sum = (self._rest_sum[0] + a[0], self._rest_sum[1] + a[1],
                          self._rest_sum[2] + a[2])
        self._rest_n += 1
        if t - self.rest_since + EPS >= REST_S and 0.8 <= _norm(self._rest_sum) / self._rest_n <= 1.2:
            self.mounting.gravity = _scale(self._rest_sum, 1.0 / self._rest_n)
            self.mounting.learned = True

    def _learn_forward(self, t, d):
        """After a rest, the first horizontal acceleration held for ``LEARN_S`` is ahead."""
        mounting = self.mounting
        up = _unit(mounting.gravity) if mounting.learned else None
        if up is None:
            return
        horizontal = _sub(d, _scale(up, _dot(d, up)))
        if _norm(horizontal) < LEARN_G:
            self._learn = None
            return
        since, total = self._learn or (t, (0.0, 0.0, 0.0))
        self._learn = since, total = since, (total[0] + horizontal[0], total[1] + horizontal[1],
                                             total[2] + horizontal[2])
        if t - since + EPS >= LEARN_S:
            mounting.forward = _unit(total)


def _add_toward(value, target, k):
    k = min(1.0, k)
    return tuple(v + (x - v) * k for v, x in zip(value, target))
