"""Scripted scenarios: scenes whose truth includes the distance and closing speed of the car
ahead, so a forward-collision warning can be judged against the true time to collision.

``synthetic://?scenario=brake``: we drive at ``EGO_SPEED`` with a car
``GAP0_M`` ahead in our lane at our speed; at ``BRAKE_AT_S`` it brakes at
``DECEL`` to a stop and we do not, until our bumper meets its (``BONNET_M``
ahead of the camera), where it stays to the end of the repetition.
``scenario=follow``: the same car stays ``GAP0_M`` ahead, and another follows
in the next lane where there is one: nothing approaches. ``scenario=parked``: we
stand still; a car comes towards us in the lane beside ours and passes us (level
with the camera at ``PASS_AT_S``), and at ``KNOCK_AT_S`` something knocks our car
(a jolt the IMU feels; nothing is seen). Each repetition
lasts ``PERIOD_S`` seconds and is a scene of its own (road, light, cars drawn
from the seed), with roadside clutter but no other road users.

The world's plain scenes are untouched: a scenario is only drawn when asked for.
"""

import math
from collections import namedtuple

from dashcam.synthetic.actors import Actor, _clutter, _Spawner
from dashcam.synthetic.scene import Scene

BRAKE, FOLLOW, PARKED = "brake", "follow", "parked"
SCENARIOS = (BRAKE, FOLLOW, PARKED)
PERIOD_S = 8.0
EGO_SPEED = 15.0     # m/s, 54 km/h
GAP0_M = 25.0        # camera to the lead car's rear, metres
BRAKE_AT_S = 3.0     # seconds into each repetition
DECEL = 6.0          # m/s^2: a hard stop (0.6 g)
BONNET_M = 2.0       # camera to our front bumper: the gap is 0 here
NEXT_LANE_GAP_M = 32.0
PASS_SPEED = 8.0     # m/s (29 km/h): the car passing us in ``parked``
PASS_AT_S = 4.0      # seconds into each repetition it is level with our camera
KNOCK_AT_S = 6.0     # seconds into each repetition of ``parked``: the knock
KNOCK_G = 1.8        # its peak, g along our length: one push and its rebound
KNOCK_S = 0.1        # its duration
CRASH_S = 0.2        # ``brake``: our speed falls to 0 over this, from contact (a crash pulse)
G = 9.80665          # m/s^2 in one g


class LeadTruth(namedtuple("LeadTruth", "track_id distance_m closing_mps ttc_s")):
    """The car ahead: its track id, bumper-to-bumper gap (m), closing speed (m/s, positive
    when it gets nearer) and true time to collision (s; None when it is not getting nearer)."""

    __slots__ = ()


def lead_distance(kind, tau):
    """(camera-to-rear distance, closing speed) of the lead car ``tau`` s into a repetition."""
    if kind == FOLLOW or tau <= BRAKE_AT_S:
        return GAP0_M, 0.0
    t = tau - BRAKE_AT_S
    stop = EGO_SPEED / DECEL
    if t <= stop:
        z, closing = GAP0_M - 0.5 * DECEL * t * t, DECEL * t
    else:
        z = GAP0_M - 0.5 * DECEL * stop * stop - EGO_SPEED * (t - stop)
        closing = EGO_SPEED
    if z <= BONNET_M:
        return BONNET_M, 0.0     # bumpers met: it stays there
    return z, closing


def collision_time(kind):
    """Seconds into a repetition at which the bumpers meet (the true TTC reaches 0); None
    where they never do (``follow``, ``parked``)."""
    if kind != BRAKE:
        return None
    stop = EGO_SPEED / DECEL
    z_stop = GAP0_M - 0.5 * DECEL * stop * stop
    if z_stop <= BONNET_M:
        return BRAKE_AT_S + (2.0 * (GAP0_M - BONNET_M) / DECEL) ** 0.5
    return BRAKE_AT_S + stop + (z_stop - BONNET_M) / EGO_SPEED


class EgoMotion(namedtuple("EgoMotion", "distance_m speed_mps accel_mps2")):
    """Our own car: metres driven since the world began, speed (m/s) and longitudinal
    acceleration (m/s^2, braking negative), as its GPS and IMU would sense them."""

    __slots__ = ()


def _motion_in(kind, tau):
    """``EgoMotion`` ``tau`` seconds into one repetition, distance from its start."""
    if kind == PARKED:
        u = tau - KNOCK_AT_S
        # a push and its rebound: the body rocks on its springs, the car does not move
        jolt = KNOCK_G * G * math.sin(2.0 * math.pi * u / KNOCK_S) if 0.0 <= u < KNOCK_S else 0.0
        return EgoMotion(0.0, 0.0, jolt)
    contact = collision_time(kind)
    if contact is None or tau < contact:
        return EgoMotion(EGO_SPEED * tau, EGO_SPEED, 0.0)
    # Half a cosine from EGO_SPEED to 0 over CRASH_S: a crash pulse whose peak,
    # pi/2 times its mean, is about 12 g, within what accident recorders report
    u, w = min(tau - contact, CRASH_S), math.pi / CRASH_S
    speed = EGO_SPEED * (1.0 + math.cos(w * u)) / 2.0
    accel = -EGO_SPEED * w / 2.0 * math.sin(w * u) if tau - contact < CRASH_S else 0.0
    distance = EGO_SPEED * contact + EGO_SPEED / 2.0 * (u + math.sin(w * u) / w)
    return EgoMotion(distance, speed, accel)


def ego_motion(kind, t):
    """Our ``EgoMotion`` at ``t`` seconds since the world began (its frame 0). Each repetition
    starts afresh at its own speed, as its frames do (a cut, not an acceleration)."""
    block, tau = divmod(t, PERIOD_S)
    before = block * _motion_in(kind, PERIOD_S).distance_m
    here = _motion_in(kind, tau)
    return here._replace(distance_m=before + here.distance_m)


class ScriptedActor(Actor):
    """A car whose distance follows ``lead_distance`` instead of an analytic drift."""

    __slots__ = ("script",)

    def __init__(self, kind, x, look, script):
        Actor.__init__(self, kind, x, GAP0_M, 0.0, look)
        self.script = script

    def position(self, tau):
        return self.x0, lead_distance(self.script, tau)[0]

    def limit_to_view(self, length):
        """Always in view: it stays within the scene's reach."""


def scenario_scene(kind, seed, block):
    """``(scene, actors)`` of repetition ``block`` of scenario ``kind``."""
    scene = Scene(seed, block, 0, block * PERIOD_S, PERIOD_S)
    scene.ego_speed = 0.0 if kind == PARKED else EGO_SPEED
    spawner = _Spawner(scene)
    if kind == PARKED:
        look, length = spawner.car_look(False)
        # in the lane beside ours, whichever way it runs: about 1.5 m between the cars
        spawner.add(Actor("car", -scene.lane_w, PASS_SPEED * PASS_AT_S, -PASS_SPEED, look),
                    length)
        return _numbered(scene, spawner)
    look, _ = spawner.car_look(True)
    spawner.actors.append(ScriptedActor("car", scene.same_lanes[0], look, kind))
    if kind == FOLLOW and len(scene.same_lanes) > 1:
        look, length = spawner.car_look(True)
        spawner.add(Actor("car", scene.same_lanes[1], NEXT_LANE_GAP_M, 0.0, look), length)
    return _numbered(scene, spawner)


def _numbered(scene, spawner):
    """The scene and its actors, numbered, with roadside clutter added."""
    for i, actor in enumerate(spawner.actors):
        actor.track_id = scene.uid * 1000 + i + 1
    _clutter(spawner)
    return scene, spawner.actors


def lead_truth(kind, scene, actors, tau):
    """``LeadTruth`` of the scripted car at ``tau`` seconds into its scene; None where no car
    is scripted ahead (``parked``)."""
    lead = next((a for a in actors if isinstance(a, ScriptedActor)), None)
    if lead is None:
        return None
    z, closing = lead_distance(kind, tau)
    gap = z - BONNET_M
    return LeadTruth(lead.track_id, gap, closing, gap / closing if closing > 0 else None)
