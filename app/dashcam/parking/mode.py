"""Parking mode's decisions, as pure functions of what the car's senses say and when.

Parking begins when the ignition line falls (the engine stopped), or once the car has
stood still for ``still_s`` seconds (GPS speed at most ``still_kmh`` and the IMU still)
while no ignition line says the engine runs. It ends when the ignition line rises, when
the car moves, or on an impact; the stillness is then counted afresh, so a knock that
ended it parks the car again only after another ``still_s``.

While parked, a car in view that is near and growing fast (``approaching``) is an
event: the judgement is the alert rules' time to collision (``alerts.rules``), here over
two frames a second or so apart, since a parked camera infers about once a second.
"""

from collections import namedtuple

from dashcam.alerts.rules import Sample, time_to_collision
from dashcam.geometry import as_boxes, iou_one

IGNITION, STILL, MOVEMENT, IMPACT, APPROACH = "ignition", "still", "movement", "impact", "approach"
SAME_CAR_IOU = 0.1      # a car's box a second later still overlaps this much of its own
MAX_GAP_S = 3.0         # frames further apart than this are not compared


class Senses(namedtuple("Senses", "ignition speed_kmh still")):
    """One look at the car: ``ignition`` True while the engine runs (None: no line),
    ``speed_kmh`` over ground (None: no fix), ``still`` from the IMU (None: no IMU)."""

    __slots__ = ()


class State(namedtuple("State", "parked since still_since ignition")):
    """``parked`` since ``since`` (or not, since then); ``still_since``: when the car last
    began to stand still (None: moving, or nothing says); ``ignition``: the line as last
    read (None: not yet, or no line)."""

    __slots__ = ()


START = State(False, None, None, None)


def moving(senses, still_kmh):
    """True when the car moves, False when it stands, None when nothing says or the senses
    disagree. A GPS speed decides where there is one: the IMU alone cannot tell a knock
    or a passing lorry's gust from driving off, so it only confirms standing (its unrest
    then says neither); without a fix, the IMU decides."""
    if senses.speed_kmh is not None:
        if senses.speed_kmh > still_kmh:
            return True
        return False if senses.still is not False else None
    return None if senses.still is None else not senses.still


def step(state, senses, now, still_s, still_kmh, impact=False):
    """``(state, change)`` after looking at ``senses`` at ``now`` (seconds, any clock);
    ``change`` is None or ``(parked, reason)``: parking began (True) or ended (False) for
    ``reason`` (``IGNITION``, ``STILL``, ``MOVEMENT``, ``IMPACT``). ``still_s`` 0: never by
    stillness."""
    line = senses.ignition
    started = line is True and state.ignition is False
    stopped = line is False and state.ignition is not False
    move = moving(senses, still_kmh)
    still_since = None
    if move is False:
        still_since = now if state.still_since is None else state.still_since
    new = state._replace(still_since=still_since,
                         ignition=state.ignition if line is None else line)
    if state.parked:
        reason = IMPACT if impact else IGNITION if started else MOVEMENT if move else None
        if reason is None:
            return new, None
        return new._replace(parked=False, since=now,
                            still_since=now if move is False else None), (False, reason)
    if stopped:
        return new._replace(parked=True, since=now), (True, IGNITION)
    if (still_s > 0 and line is not True and still_since is not None
            and now - still_since >= still_s):
        return new._replace(parked=True, since=now), (True, STILL)
    return new, None


def approaching(before, now, frame_height, near_height, ttc_below, labels=("car",)):
    """``(index, ttc)`` of the detection of FrameRecord ``now`` nearest to us among the cars
    that approach: at least ``near_height`` of ``frame_height`` tall, overlapping a box of
    FrameRecord ``before`` (the same car, seconds earlier) and grown since fast enough to
    reach us within ``ttc_below`` seconds; None when none does."""
    gap = now.t_mono - before.t_mono
    old = [d for d in before.detections if d.label in labels]
    if not old or not 0 < gap <= MAX_GAP_S:
        return None
    old_boxes = as_boxes([d.box for d in old])
    found, tallest = None, 0.0
    for index, detection in enumerate(now.detections):
        height = detection.y2 - detection.y1
        if detection.label not in labels or height < max(tallest, near_height * frame_height):
            continue
        overlap = iou_one(as_boxes([detection.box])[0], old_boxes)
        match = int(overlap.argmax())
        if overlap[match] < SAME_CAR_IOU:
            continue
        samples = [Sample(before.t_mono, before.t_utc, old[match].box, old[match].confidence),
                   Sample(now.t_mono, now.t_utc, detection.box, detection.confidence)]
        ttc = time_to_collision(samples, window=gap, min_samples=2, max_span=MAX_GAP_S)
        if ttc is not None and ttc < ttc_below:
            found, tallest = (index, ttc), height
    return found
