"""Scripted scenarios: scenes whose truth includes the distance and closing speed of the car
ahead, so a forward-collision warning can be judged against the true time to collision.

``synthetic://?scenario=brake``: we drive at ``EGO_SPEED`` with a car
``GAP0_M`` ahead in our lane at our speed; at ``BRAKE_AT_S`` it brakes at
``DECEL`` to a stop and we do not, until our bumper meets its (``BONNET_M``
ahead of the camera), where it stays to the end of the repetition.
``scenario=follow``: the same car stays ``GAP0_M`` ahead, and another follows
in the next lane where there is one: nothing approaches. Each repetition
lasts ``PERIOD_S`` seconds and is a scene of its own (road, light, cars drawn
from the seed), with roadside clutter but no other road users.

The world's plain scenes are untouched: a scenario is only drawn when asked for.
"""

from collections import namedtuple

from dashcam.synthetic.actors import Actor, _clutter, _Spawner
from dashcam.synthetic.scene import Scene

BRAKE, FOLLOW = "brake", "follow"
SCENARIOS = (BRAKE, FOLLOW)
PERIOD_S = 8.0
EGO_SPEED = 15.0     # m/s, 54 km/h
GAP0_M = 25.0        # camera to the lead car's rear, metres
BRAKE_AT_S = 3.0     # seconds into each repetition
DECEL = 6.0          # m/s^2: a hard stop (0.6 g)
BONNET_M = 2.0       # camera to our front bumper: the gap is 0 here
NEXT_LANE_GAP_M = 32.0


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
    scene.ego_speed = EGO_SPEED
    spawner = _Spawner(scene)
    look, _ = spawner.car_look(True)
    spawner.actors.append(ScriptedActor("car", scene.same_lanes[0], look, kind))
    if kind == FOLLOW and len(scene.same_lanes) > 1:
        look, length = spawner.car_look(True)
        spawner.add(Actor("car", scene.same_lanes[1], NEXT_LANE_GAP_M, 0.0, look), length)
    for i, actor in enumerate(spawner.actors):
        actor.track_id = scene.uid * 1000 + i + 1
    _clutter(spawner)
    return scene, spawner.actors


def lead_truth(kind, scene, actors, tau):
    """``LeadTruth`` of the scripted car at ``tau`` seconds into its scene."""
    lead = next(a for a in actors if isinstance(a, ScriptedActor))
    z, closing = lead_distance(kind, tau)
    gap = z - BONNET_M
    return LeadTruth(lead.track_id, gap, closing, gap / closing if closing > 0 else None)
