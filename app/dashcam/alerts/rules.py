"""Alert rules: pure functions of one track's recent boxes, the frame's size and the time.

A rule (``[rule:NAME]`` in the configuration) fires for a confirmed track when
all its conditions hold on the track's newest box: one of its ``labels``, at
least ``min_confidence``, at least ``min_height`` tall (pixels, or a fraction
of the frame height: nearness), its ground point (the middle of the box's
bottom edge, where the object stands on the road) inside the ``roi`` polygon,
and, with ``ttc_below``, a time to collision under that many seconds. It fires
again for the same track only after ``cooldown`` seconds, and for any object only
``rule_cooldown`` seconds after its last alert. With ``target`` ``lead`` it judges
not each track but the lead object (``alerts.lead``). It is judged only while the
vehicle's speed is within ``min_speed`` .. ``max_speed`` km/h (``speed_allows``).

Time to collision from the image alone: an object's height in the image is
``h = f H / Z``, so ``h / (dh/dt) = Z / (-dZ/dt)``, the distance over the
closing speed, without knowing either. The rate is the least-squares slope of
``ln h`` over the last ``TTC_WINDOW_S`` seconds (``d ln h / dt = (dh/dt) / h``),
which smooths a detector's pixel jitter; TTC is its inverse, less the time from
the window's middle to its newest box (what the fit would otherwise lag by).
"""

import math
import re
from collections import namedtuple

# Seconds of boxes the TTC slope is fitted over: a longer window is steadier and
# later. On three repetitions of the brake scenario 0.3 s warned 1.4 to 1.55 s
# before the bumpers met (0.5 s: 1.35 to 1.45 s), TTC off by 0.44 s (median;
# 0.5 s: 0.74 s), with no false warning on the follow scenario either way
# (bench/bench_alerts.py). At least TTC_MIN_SAMPLES boxes, reaching back up to
# TTC_MAX_SPAN_S where the frame rate is low.
TTC_WINDOW_S = 0.3
TTC_MIN_SAMPLES = 4
TTC_MAX_SPAN_S = 1.0
RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,16}$")
LABEL_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class Sample(namedtuple("Sample", "t_mono t_utc box confidence")):
    """One box of a track: capture times (monotonic, UTC seconds), (x1, y1, x2, y2), confidence."""

    __slots__ = ()


class Finding(namedtuple("Finding", "rule track_id label confidence box ttc")):
    """A rule that holds for a track now; ``ttc`` in seconds, None when the rule has no TTC."""

    __slots__ = ()


class Labels(tuple):
    """Labels a rule applies to; text ``car,person``."""

    __slots__ = ()

    @classmethod
    def parse(cls, text):
        names = [part.strip() for part in text.split(",") if part.strip()]
        if not names or not all(LABEL_NAME.match(n) for n in names):
            raise ValueError(text)
        return cls(names)

    def __str__(self):
        return ",".join(self)


class Height(namedtuple("Height", "value pixels")):
    """A minimum height: ``value`` pixels, or a fraction of the frame height (``pixels`` False).

    Text: ``80px`` or a number above 1 are pixels, a number up to 1 a fraction.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, text):
        text = text.strip().lower()
        pixels = text.endswith("px")
        value = float(text[:-2] if pixels else text)
        if not value >= 0 or math.isinf(value):
            raise ValueError(text)
        return cls(value, pixels or value > 1.0)

    def in_pixels(self, frame_height):
        return self.value if self.pixels else self.value * frame_height

    def __str__(self):
        return f"{self.value:g}px" if self.pixels else f"{self.value:g}"


class Polygon(tuple):
    """A region of the frame in normalised coordinates (0..1, y down), as ``(x, y)`` vertices.

    Text: ``x,y x,y x,y ...`` (at least three vertices); empty: the whole frame.
    A point on an edge or a vertex is inside.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, text):
        points = []
        for pair in text.split():
            x, y = (float(v) for v in pair.split(","))
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(pair)
            points.append((x, y))
        if points and len(points) < 3:
            raise ValueError(text)
        return cls(points)

    def flat(self):
        """Whether all its vertices lie on one line (or are one point): a region with no inside,
        that a ground point meets only by a measure-zero chance."""
        x0, y0 = self[0]
        far_x, far_y = max(self, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2)
        dx, dy = far_x - x0, far_y - y0
        return all(abs(dx * (y - y0) - dy * (x - x0)) <= 1e-12 for x, y in self)

    def contains(self, x, y):
        """Whether normalised point (x, y) is inside or on the boundary (even-odd rule)."""
        if not self:
            return True
        inside = False
        n = len(self)
        for i in range(n):
            (x1, y1), (x2, y2) = self[i], self[(i + 1) % n]
            if _on_segment(x, y, x1, y1, x2, y2):
                return True
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside

    def __str__(self):
        return " ".join(f"{x:g},{y:g}" for x, y in self)


def _on_segment(x, y, x1, y1, x2, y2, eps=1e-9):
    cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    return (abs(cross) <= eps and min(x1, x2) - eps <= x <= max(x1, x2) + eps
            and min(y1, y2) - eps <= y <= max(y1, y2) + eps)


def rule_name(text):
    """A rule's name as ``[rule:NAME]`` gives it: lower case, digits, ``-`` and ``_``, at most
    17 characters (so that a serial sentence stays within NMEA 0183's 82)."""
    name = text.strip()
    if not RULE_NAME.match(name):
        raise ValueError(name)
    return name


EACH, LEAD = "each", "lead"          # targets: every confirmed track, or the lead object
FIRE, HOLD = "fire", "hold"          # without a speed: judge the rule, or hold it


class AlertRule(namedtuple("AlertRule", "name labels min_confidence min_height roi ttc_below "
                                        "severity cooldown target rule_cooldown min_speed "
                                        "max_speed no_speed")):
    """One rule's conditions (see the module docstring); built from its config section.
    Speeds in km/h, ``max_speed`` 0: no upper bound; ``no_speed`` ``FIRE`` or ``HOLD``."""

    __slots__ = ()

    @classmethod
    def from_section(cls, name, section):
        return cls(name, tuple(section.labels), section.min_confidence, section.min_height,
                   section.roi, section.ttc_below, section.severity, section.cooldown,
                   section.target, section.rule_cooldown, section.min_speed, section.max_speed,
                   section.no_speed)


AlertRule.__new__.__defaults__ = (EACH, 0.0, 0.0, 0.0, FIRE)


def speed_allows(rule, speed_kmh):
    """Whether ``rule`` may be judged at the vehicle's speed ``speed_kmh`` (None: not known,
    as without a GPS fix: then as ``rule.no_speed`` says)."""
    if speed_kmh is None:
        return rule.no_speed == FIRE
    return rule.min_speed <= speed_kmh and (rule.max_speed <= 0 or speed_kmh <= rule.max_speed)


def never_fires(rule, labels, max_confidence=None, frame_height=None, fps=None):
    """Why ``rule`` can never fire, as ``(key, reason)``, or None: for a model whose classes
    are ``labels``, whose confidences reach at most ``max_confidence`` (None: no bound, as
    DBSCAN's sums), on frames ``frame_height`` pixels high at ``fps`` (None: not known)."""
    unknown = [label for label in rule.labels if label not in labels]
    if unknown:
        return "labels", "{} {} not a label of the model (its labels: {})".format(
            ", ".join(unknown), "is" if len(unknown) == 1 else "are", ", ".join(labels))
    if max_confidence is not None and rule.min_confidence > max_confidence:
        return "min-confidence", (f"a detection's confidence is at most {max_confidence:g} "
                                  "with this [property] cluster-mode")
    if 0 < rule.max_speed < rule.min_speed:
        return "min-speed", f"it is above max-speed = {rule.max_speed:g}"
    if rule.roi and rule.roi.flat():
        return "roi", "its points lie on one line, so the region has no inside"
    tallest = frame_height if rule.min_height.pixels else 1.0
    if tallest is not None and rule.min_height.value > tallest:
        return "min-height", f"the frames are {frame_height} pixels high"
    # A box at least this part of the frame tall reaches at least this far down (boxes
    # are clipped to the frame), so its ground point is at least this low.
    lowest = rule.min_height.value / tallest if tallest else None
    if rule.roi and lowest is not None and max(y for _, y in rule.roi) < lowest:
        return "roi", ("no point of it is as low as {:g} of the frame's height, where a box "
                       "min-height = {} tall stands at the highest".format(lowest, rule.min_height))
    if rule.ttc_below > 0 and fps is not None and fps * TTC_MAX_SPAN_S < TTC_MIN_SAMPLES - 1:
        return "ttc-below", ("a time to collision needs {} boxes within {:g} s, and the source "
                             "gives {:g} frames a second".format(TTC_MIN_SAMPLES, TTC_MAX_SPAN_S,
                                                                 fps))
    return None


def time_to_collision(samples, window=TTC_WINDOW_S, min_samples=TTC_MIN_SAMPLES,
                      max_span=TTC_MAX_SPAN_S):
    """Seconds to collision from the growth of the boxes' heights over the last ``window``
    seconds of ``samples`` (oldest first; at least ``min_samples`` boxes, reaching back up
    to ``max_span`` seconds for them); None when there are too few or the object is not
    getting nearer (its height steady or shrinking)."""
    usable = [s for s in samples if s.box[3] > s.box[1]]
    if len(usable) < min_samples:
        return None
    newest = usable[-1].t_mono
    recent = [s for s in usable if newest - s.t_mono <= window]
    if len(recent) < min_samples:
        recent = usable[-min_samples:]
    span = newest - recent[0].t_mono
    if span < window / 2.0 or span > max_span:
        return None
    ts = [s.t_mono - newest for s in recent]
    logs = [math.log(s.box[3] - s.box[1]) for s in recent]
    mean_t, mean_l = sum(ts) / len(ts), sum(logs) / len(logs)
    var = sum((t - mean_t) ** 2 for t in ts)
    if var <= 0:
        return None
    rate = sum((t - mean_t) * (v - mean_l) for t, v in zip(ts, logs)) / var
    if rate <= 0:
        return None
    # The fit gives the TTC at the boxes' mean time, -mean_t seconds ago; at a steady
    # closing speed TTC falls one second a second, so now it is that much less.
    return max(0.0, 1.0 / rate + mean_t)


def ground_point(box, frame_width, frame_height):
    """The middle of the box's bottom edge, normalised: where the object meets the road."""
    return ((box[0] + box[2]) / 2.0 / frame_width, box[3] / frame_height)


def check(rule, track_id, label, samples, frame_size):
    """A ``Finding`` if ``rule`` holds for the track whose boxes are ``samples`` (oldest
    first, the newest from this frame) in a frame of ``frame_size`` (width, height); else None."""
    newest = samples[-1]
    box = newest.box
    width, height = frame_size
    if label not in rule.labels or newest.confidence < rule.min_confidence:
        return None
    if box[3] - box[1] < rule.min_height.in_pixels(height):
        return None
    if not rule.roi.contains(*ground_point(box, width, height)):
        return None
    ttc = None
    if rule.ttc_below > 0:
        ttc = time_to_collision(samples)
        if ttc is None or ttc >= rule.ttc_below:
            return None
    return Finding(rule.name, track_id, label, newest.confidence, box, ttc)


def cooled_down(last_fired, now, cooldown):
    """Whether a rule may fire again for a track it last fired for at ``last_fired`` (None:
    never), ``now`` and ``cooldown`` in seconds on the same clock."""
    return last_fired is None or now - last_fired >= cooldown
