"""Who is on the road in a scene, and where each one is at any moment.

Every actor has an analytic trajectory in scene time ``tau`` (seconds since
the scene began): distance ahead ``z(tau) = z0 + vz * tau + amp * sin(w tau + phi)``
and lateral offset easing from ``x0`` to ``x1`` between ``ta`` and ``tb``. Speeds
are relative to our own car, so parked things approach at our speed. Actors
are placed so nobody drives through our car: a car ahead in our lane stays at
least ``MIN_GAP_M`` away and crossers are out of our lane before we get close.
"""

import math
import random

from dashcam.synthetic import shapes

Z_FAR = 180.0       # metres; nothing is seen beyond (a car there is ~11 px wide at 960 px)
MIN_GAP_M = 8.0

CAR_PAINTS = ((235, 235, 235), (190, 190, 195), (30, 30, 32), (110, 110, 115), (40, 40, 170),
              (150, 80, 30), (90, 40, 20), (50, 100, 40), (40, 190, 220), (150, 185, 200),
              (30, 120, 230), (120, 60, 120))
CAR_KINDS = (("sedan", 0.42), ("hatchback", 0.2), ("suv", 0.25), ("van", 0.13))
SHIRTS = ((40, 40, 180), (180, 120, 40), (230, 230, 230), (30, 30, 30), (60, 150, 60), (40, 180, 230),
          (140, 60, 140), (120, 120, 120), (200, 160, 120), (30, 90, 200))
TROUSERS = ((60, 40, 30), (30, 30, 30), (110, 90, 60), (140, 140, 140), (80, 60, 50), (150, 110, 60))
SKINS = ((150, 180, 225), (110, 145, 195), (70, 95, 140), (45, 65, 100))
HAIRS = ((20, 20, 25), (30, 50, 80), (60, 110, 160), (190, 190, 195))
FRAMES = ((30, 30, 200), (200, 80, 30), (30, 30, 30), (180, 180, 180), (40, 160, 40), (20, 140, 230))
SIGN_LOOKS = {
    "circle": (((40, 40, 200), (245, 245, 245), (20, 20, 20)), ((180, 90, 20), (245, 245, 245), (245, 245, 245))),
    "triangle": (((40, 40, 200), (245, 245, 245), (20, 20, 20)), ((40, 40, 200), (30, 200, 240), (20, 20, 20))),
    "yield": (((40, 40, 200), (245, 245, 245), (20, 20, 20)),),
    "rectangle": (((170, 90, 20), (245, 245, 245), (245, 245, 245)), ((60, 120, 20), (245, 245, 245), (245, 245, 245))),
    "octagon": (((40, 40, 200), (245, 245, 245), (20, 20, 20)),),
    "diamond": (((30, 200, 240), (30, 200, 240), (20, 20, 20)),),
    "direction": (((60, 120, 20), (245, 245, 245), (245, 245, 245)), ((170, 90, 20), (245, 245, 245), (245, 245, 245))),
}
# Share of a drawn box that hides what is behind it (arms and wheels leave gaps).
OCCLUDER_FILL = {"car": (0.96, 0.92), "person": (0.7, 0.95), "bicycle": (0.55, 0.7), "road_sign": (0.85, 0.85)}


def _ease(f):
    f = min(1.0, max(0.0, f))
    return f * f * (3.0 - 2.0 * f)


class Actor:
    """One road user or roadside thing with an analytic trajectory."""

    __slots__ = ("kind", "track_id", "z0", "vz", "amp", "omega", "phi", "x0", "x1", "ta", "tb",
                 "walk", "look", "tau0", "tau1")

    def __init__(self, kind, x, z0, vz, look, walk=0.0):
        self.kind = kind          # car, person, bicycle, road_sign; tree, building, post (unlabelled)
        self.track_id = 0
        self.z0, self.vz = z0, vz
        self.amp, self.omega, self.phi = 0.0, 0.0, 0.0
        self.x0 = self.x1 = x
        self.ta = self.tb = 0.0
        self.walk = walk          # metres per second of own walking/riding (gait animation)
        self.look = look
        self.tau0, self.tau1 = -1e9, 1e9

    @property
    def labelled(self):
        return self.kind in OCCLUDER_FILL

    def position(self, tau):
        z = self.z0 + self.vz * tau
        if self.amp:
            z += self.amp * math.sin(self.omega * tau + self.phi)
        x = self.x0
        if self.tb > self.ta:
            x += (self.x1 - self.x0) * _ease((tau - self.ta) / (self.tb - self.ta))
        return x, z

    def limit_to_view(self, length):
        """Precompute the time window in which the actor can be in view at all."""
        lo, hi = -length - 2.0 - self.amp, Z_FAR + self.amp
        if self.vz > 1e-9:
            self.tau0, self.tau1 = (lo - self.z0) / self.vz, (hi - self.z0) / self.vz
        elif self.vz < -1e-9:
            self.tau0, self.tau1 = (hi - self.z0) / self.vz, (lo - self.z0) / self.vz
        elif not lo <= self.z0 <= hi:
            self.tau0, self.tau1 = 1.0, -1.0

    def draw(self, sk, scene, x, z, tau):
        """Draw at (x, z); returns the labelled parts drawn, [(kind, box)], nearest last.

        A ridden bicycle has two: the bicycle, then its rider, a person.
        """
        look = self.look
        stride = 2.0 * math.pi / 1.5
        gait = (abs(x - self.x0) + self.walk * tau) * stride
        if self.kind == "car":
            shapes.draw_car(sk, x, z, look[0], look[1], look[2], scene.lights_on, look[3])
        elif self.kind == "person":
            if z < 1.0:
                return []
            shapes.draw_person(sk, x, z, look[0], look[1], look[2], look[3], look[4], gait if look[5] else 0.0)
        elif self.kind == "bicycle":
            if z < 2.0:
                return []
            shapes.draw_bicycle(sk, x, z, look[0], look[1])
            if look[2] is not None:
                bike = sk.box()
                sk.reset()
                shapes.draw_rider(sk, x, z, look[0], look[2], gait * 0.5)
                return [("bicycle", bike), ("person", sk.box())]
        elif self.kind == "road_sign":
            if z < 2.0:
                return []
            size, centre_y, shape, colours, pole = look
            shapes.draw_sign_pole(sk, x, z, centre_y - 0.4 * size, pole)
            shapes.draw_sign_plate(sk, x, z, centre_y, size, shape, colours)
        elif self.kind == "tree":
            shapes.draw_tree(sk, x, z, look[0], look[1], look[2])
        elif self.kind == "building":
            shapes.draw_building(sk, x, z, z + look[0], look[1], look[2], look[3])
        elif self.kind == "post":
            if z > 2.0:
                shapes.draw_sign_pole(sk, x, z, look[0], look[1])
        box = sk.box() if self.labelled else None
        return [] if box is None else [(self.kind, box)]


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], [p[1] for p in pairs])[0]


class _Spawner:
    def __init__(self, scene):
        self.scene = scene
        self.rng = random.Random(scene.rng_seed)
        self.v = scene.ego_speed
        self.d = scene.duration
        self.actors = []

    def add(self, actor, length):
        actor.limit_to_view(length)
        if actor.tau1 >= 0.0 and actor.tau0 <= self.d:
            self.actors.append(actor)
        return actor

    def span(self, vz, lo=-8.0):
        """Range of start distances from which an actor moving at ``vz`` is seen in this scene."""
        return min(lo, lo - vz * self.d), max(Z_FAR, Z_FAR - vz * self.d)

    def car_look(self, away):
        rng, sh = self.rng, self.scene.shade
        kind = _weighted(rng, CAR_KINDS)
        glass = sh(rng.choice(((60, 50, 45), (80, 70, 60), (45, 40, 40))))
        return (kind, sh(rng.choice(CAR_PAINTS)), away, glass), shapes.CAR_TYPES[kind][1]

    def rider_look(self):
        rng, sh = self.rng, self.scene.shade
        return (sh(rng.choice(SHIRTS)), sh(rng.choice(TROUSERS)), sh(rng.choice(SKINS)), sh(rng.choice(SHIRTS)))

    def car_flow(self, x, vz, gap, away, lo=-8.0, wobble=True):
        rng = self.rng
        z_lo, z_hi = self.span(vz, lo)
        z = z_lo + rng.uniform(0.0, gap[1])
        while z < z_hi:
            look, length = self.car_look(away)
            car = Actor("car", x + rng.uniform(-0.25, 0.25), z, vz, look)
            if wobble and vz != -self.v:
                car.amp, car.omega, car.phi = rng.uniform(0.0, 1.5), rng.uniform(0.2, 0.6), rng.uniform(0, 6.3)
                car.z0 += car.amp
            self.add(car, length)
            z += length + rng.uniform(*gap)

    def people(self, x_lo, x_hi, density):
        rng = self.rng
        # One sample walking speed sets the stretch of sidewalk to populate.
        walk = 0.0 if rng.random() < 0.3 else rng.choice((-1, 1)) * rng.uniform(0.9, 1.7)
        z_lo, z_hi = self.span(walk - self.v)
        for _ in range(int((z_hi - z_lo) * density + rng.random())):
            walk = 0.0 if rng.random() < 0.3 else rng.choice((-1, 1)) * rng.uniform(0.9, 1.7)
            self.add(Actor("person", rng.uniform(x_lo, x_hi), rng.uniform(z_lo, z_hi), walk - self.v,
                           self.person_look(walk != 0.0), abs(walk)), 0.5)

    def person_look(self, walking):
        rng, sh = self.rng, self.scene.shade
        height = rng.uniform(1.55, 1.92) if rng.random() < 0.85 else rng.uniform(1.05, 1.4)
        return (height, sh(rng.choice(SHIRTS)), sh(rng.choice(TROUSERS)), sh(rng.choice(SKINS)),
                sh(rng.choice(HAIRS)), walking)

    def crosser(self, kind, speed):
        """Someone crossing the whole road, out of our lane before we are within 12 m."""
        sc, rng = self.scene, self.rng
        right_to_left = rng.random() < 0.5
        xa, xb = sc.kerb_right + 0.8, sc.kerb_left - 0.8
        if not right_to_left:
            xa, xb = xb, xa
        ta = rng.uniform(-0.3 * self.d, 0.8 * self.d)
        tb = ta + abs(xb - xa) / speed
        # Time at which the eased walk has left our lane (bisection on the easing curve).
        need = min(1.0, (abs(xa) + sc.lane_w / 2.0 + 0.5) / abs(xb - xa))
        g_lo, g_hi = 0.0, 1.0
        for _ in range(20):
            g = (g_lo + g_hi) / 2.0
            g_lo, g_hi = (g, g_hi) if _ease(g) < need else (g_lo, g)
        clear = ta + g_hi * (tb - ta)
        z0 = 12.0 + self.v * max(0.0, clear) + rng.uniform(0.0, 70.0)
        heading = -math.pi / 2 if right_to_left else math.pi / 2
        look = (heading, sc.shade(rng.choice(FRAMES)), self.rider_look()) if kind == "bicycle" \
            else self.person_look(True)
        actor = Actor(kind, xa, z0, -self.v, look, 0.0)
        actor.x1, actor.ta, actor.tb = xb, ta, tb
        return self.add(actor, 1.0)


def spawn_actors(scene):
    """All actors of a scene: labelled road users first, then roadside clutter."""
    sp = _Spawner(scene)
    rng, v, sc, sh = sp.rng, sp.v, scene, scene.shade
    # Traffic in our direction; our own lane keeps its distance to us.
    if rng.random() < 0.65:
        vz = max(-v, rng.uniform(-1.5, 3.0))
        sp.car_flow(sc.same_lanes[0], vz, (30.0, 90.0), True, lo=MIN_GAP_M + 1.5 - min(0.0, vz * sc.duration))
    for x in sc.same_lanes[1:]:
        sp.car_flow(x, max(-v, rng.uniform(-6.0, 8.0)), (35.0, 120.0), True)
    v_onc = rng.uniform(8.0, 16.0)
    for x in sc.onc_lanes:
        sp.car_flow(x, -(v + v_onc), (45.0, 150.0), False)
    if sc.parking:
        sp.car_flow(sc.kerb_right - 1.15, -v, (5.0, 40.0) if rng.random() < 0.5 else (20.0, 80.0), True,
                    wobble=False)
    # People on both sidewalks, and a few crossing.
    k, l, w = sc.kerb_right, sc.kerb_left, sc.sidewalk_w
    density = rng.choice((0.003, 0.008, 0.016))
    sp.people(k + 1.2, k + w - 0.4, density)
    sp.people(l - w + 0.4, l - 1.2, density * 0.7)
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        sp.crosser("person", rng.uniform(1.1, 1.7))
    # Cyclists on the cycle track along the right sidewalk, crossing, parked.
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        ride = rng.uniform(3.0, 7.0) * rng.choice((1, 1, -1))
        z_lo, z_hi = sp.span(ride - v)
        heading = 0.0 if ride > 0 else math.pi
        sp.add(Actor("bicycle", k + 0.55, rng.uniform(z_lo, z_hi), ride - v,
                     (heading, sh(rng.choice(FRAMES)), sp.rider_look()), abs(ride)), 1.8)
    if rng.random() < 0.35:
        sp.crosser("bicycle", rng.uniform(3.0, 5.0))
    z_lo, z_hi = sp.span(-v)
    for _ in range(rng.choice((0, 0, 1, 2, 3))):
        sp.add(Actor("bicycle", k + w - 0.6, rng.uniform(z_lo, z_hi), -v,
                     (math.pi / 2 * rng.choice((1, -1)), sh(rng.choice(FRAMES)), None)), 0.5)
    # Road signs on poles at the kerb; a few on the far side.
    z = z_lo + rng.uniform(0.0, 40.0)
    while z < z_hi:
        shape = rng.choice(shapes.SIGN_SHAPES)
        colours = tuple(sh(c) for c in rng.choice(SIGN_LOOKS[shape]))
        left = rng.random() < 0.2
        look = (rng.uniform(0.55, 0.9), rng.uniform(1.9, 2.7), shape, colours, sh((150, 150, 150)))
        sp.add(Actor("road_sign", (l - 0.35) if left else (k + 0.35), z, -v, look), 0.2)
        z += rng.uniform(40.0, 150.0)
    for i, actor in enumerate(sp.actors):
        actor.track_id = sc.uid * 1000 + i + 1
    _clutter(sp)
    return sp.actors


def _clutter(sp):
    """Unlabelled background: lamp posts, trees or building facades (good negatives)."""
    rng, sc, sh, v = sp.rng, sp.scene, sp.scene.shade, sp.v
    z_lo, z_hi = sp.span(-v)
    post = sh((110, 110, 115))
    z = z_lo + rng.uniform(0.0, 30.0)
    while z < z_hi:
        sp.add(Actor("post", sc.kerb_right + 0.3, z, -v, (rng.uniform(5.0, 8.0), post)), 0.2)
        z += rng.uniform(25.0, 45.0)
    for side in (1, -1):
        edge = sc.kerb_right + sc.sidewalk_w if side > 0 else sc.kerb_left - sc.sidewalk_w
        z = z_lo + rng.uniform(0.0, 10.0)
        while z < z_hi + 40.0:
            if sc.buildings:
                length = rng.uniform(10.0, 40.0)
                look = (length, rng.uniform(6.0, 20.0),
                        sh(rng.choice(((150, 170, 190), (120, 130, 160), (180, 180, 175), (90, 110, 150)))),
                        sh(rng.choice(((70, 60, 50), (110, 100, 90), (60, 70, 80)))))
                sp.add(Actor("building", edge + side * 0.5, z, -v, look), length)
                z += length + rng.uniform(1.0, 12.0)
            else:
                look = (rng.uniform(5.0, 11.0), sh(rng.choice(((40, 110, 50), (50, 90, 40), (60, 130, 80)))),
                        sh((40, 60, 80)))
                sp.add(Actor("tree", edge + side * rng.uniform(1.0, 5.0), z, -v, look), 1.0)
                z += rng.uniform(6.0, 25.0)
