"""Scenes: a stretch of road with its own layout, light and speed, and its backdrop.

A world is cut into blocks of ``BLOCK_S`` seconds; each block is split into
scenes of 4 to 20 s, drawn from a generator seeded by (seed, block). Random
access to any time therefore costs one block's worth of set-up, never a
replay from time zero.
"""

import random

import cv2
import numpy as np

BLOCK_S = 60.0
SCENE_MIN_S = 4.0
SCENE_MAX_S = 20.0
# Lane dashes: 3 m painted, 6 m gap (a common urban pattern).
DASH_M = 3.0
DASH_PERIOD_M = 9.0
LINE_M = 0.12

# name, weight, gain range, BGR tint, lift, sky top, sky at horizon (BGR, before gain)
LIGHTING = (
    ("sun", 0.45, (0.95, 1.15), (1.0, 1.0, 1.03), 0, (205, 140, 75), (240, 215, 190)),
    ("overcast", 0.35, (0.75, 0.95), (1.02, 1.0, 0.98), 18, (185, 180, 175), (215, 212, 210)),
    ("dusk", 0.20, (0.45, 0.62), (0.85, 0.95, 1.15), 0, (120, 70, 60), (110, 160, 245)),
)
ROAD_COLOURS = ((88, 88, 92), (105, 103, 100), (70, 72, 75), (120, 118, 112))
SIDEWALK_COLOURS = ((150, 155, 160), (135, 150, 170), (165, 165, 160))
VERGE_COLOURS = ((60, 120, 80), (70, 110, 100), (90, 130, 120), (110, 140, 150))


def block_rng(seed, block, salt=0):
    """A generator for one block (and optionally one scene) of one world seed.

    Python's ``random.Random`` seeded by an int gives the same stream on every
    Python 3 version, which keeps datasets reproducible across machines.
    """
    return random.Random(((seed * 1000003) + block) * 1009 + salt)


class Scene:
    """One stretch of road: layout, lighting, ego speed (metres per second)."""

    def __init__(self, seed, block, number, start, duration):
        rng = block_rng(seed, block, number + 1)
        self.key = (block, number)
        self.uid = block * 64 + number          # unique within a world; feeds track ids
        self.start = start                       # world seconds
        self.duration = duration
        self.rng_seed = rng.random()
        self.ego_speed = 0.0 if rng.random() < 0.08 else rng.uniform(5.0, 16.0)
        self.lane_w = rng.uniform(3.2, 3.8)
        self.n_same = 1 if rng.random() < 0.55 else 2
        self.n_onc = 1 if rng.random() < 0.6 else 2
        self.parking = rng.random() < 0.6
        half = self.lane_w / 2.0
        self.same_lanes = [-i * self.lane_w for i in range(self.n_same)]
        self.divider = -(self.n_same - 0.5) * self.lane_w
        self.onc_lanes = [self.divider - (i + 0.5) * self.lane_w for i in range(self.n_onc)]
        self.kerb_right = half + (2.3 if self.parking else 0.6)
        self.kerb_left = self.divider - self.n_onc * self.lane_w - 0.6
        self.sidewalk_w = rng.uniform(2.5, 4.0)
        self.buildings = rng.random() < 0.5
        weights = [entry[1] for entry in LIGHTING]
        name, _, gains, tint, lift, sky_top, sky_low = rng.choices(LIGHTING, weights)[0]
        self.light = name
        self.gain = rng.uniform(*gains)
        self.tint = tuple(t * rng.uniform(0.96, 1.04) for t in tint)
        self.lift = lift
        self.lights_on = name == "dusk"
        self.sky = (self.shade(sky_top), self.shade(sky_low))
        self.road = self.shade(rng.choice(ROAD_COLOURS))
        self.sidewalk = self.shade(rng.choice(SIDEWALK_COLOURS))
        self.verge = self.shade(rng.choice(VERGE_COLOURS))
        self.line = self.shade((235, 235, 235))
        self.divider_line = self.shade(rng.choice(((235, 235, 235), (40, 200, 230))))
        self.hills = [rng.uniform(0.0, 1.0) for _ in range(24)]

    def shade(self, colour):
        """A surface colour as this scene's light and exposure render it."""
        return tuple(int(min(255.0, max(0.0, c * self.gain * t + self.lift)))
                     for c, t in zip(colour, self.tint))

    def ego_s(self, tau):
        """Distance driven since the scene started, metres."""
        return self.ego_speed * tau


def scenes_of_block(seed, block):
    """The scenes of one block, in time order, covering it exactly."""
    rng = block_rng(seed, block)
    spans = []
    t = 0.0
    while t < BLOCK_S:
        d = rng.uniform(SCENE_MIN_S, SCENE_MAX_S)
        if BLOCK_S - (t + d) < SCENE_MIN_S:
            d = BLOCK_S - t
        spans.append((t, d))
        t += d
    base = block * BLOCK_S
    return [Scene(seed, block, i, base + t0, d) for i, (t0, d) in enumerate(spans)]


def _ground_quad(cam, x_a, x_b, z_near, z_far):
    pts = [cam.point(x_a, 0.0, z_near), cam.point(x_a, 0.0, z_far),
           cam.point(x_b, 0.0, z_far), cam.point(x_b, 0.0, z_near)]
    return np.array([[int(round(u)), int(round(v))] for u, v in pts], np.int32)


def render_background(scene, cam):
    """Sky, distant hills, verges, sidewalks, kerbs, road and its solid lines."""
    h, w = cam.height, cam.width
    image = np.empty((h, w, 3), np.uint8)
    hy = int(cam.hy)
    ramp = np.linspace(0.0, 1.0, hy, dtype=np.float32)[:, None]
    top, low = (np.array(c, np.float32) for c in scene.sky)
    image[:hy] = (top + (low - top) * ramp)[:, None, :].astype(np.uint8)
    image[hy:] = scene.verge
    # Distant hills: a low silhouette hazed towards the sky colour.
    hill = tuple(int(0.55 * s + 0.45 * v) for s, v in zip(scene.sky[1], scene.verge))
    xs = np.linspace(0, w, len(scene.hills))
    ys = [hy - (0.004 + 0.03 * r) * h for r in scene.hills]
    poly = [[int(x), int(y)] for x, y in zip(xs, ys)] + [[w, hy + 1], [0, hy + 1]]
    cv2.fillPoly(image, [np.array(poly, np.int32)], hill, cv2.LINE_8)
    z_near = 0.5 * cam.ground_z(h)
    z_far = 5000.0
    k = scene.kerb_right
    l = scene.kerb_left
    sw = scene.sidewalk_w
    kerb = scene.shade((175, 175, 175))
    quads = (
        (k, k + sw, scene.sidewalk), (l - sw, l, scene.sidewalk),
        (l, k, scene.road),
        (k - 0.2, k, kerb), (l, l + 0.2, kerb),
    )
    for x_a, x_b, colour in quads:
        cv2.fillConvexPoly(image, _ground_quad(cam, x_a, x_b, z_near, z_far), colour, cv2.LINE_8)
    half = scene.lane_w / 2.0
    lines = [(half - LINE_M / 2, scene.line), (l + 0.45, scene.line)]
    if scene.n_same + scene.n_onc > 2:
        lines.append((scene.divider - LINE_M / 2, scene.divider_line))
        lines.append((scene.divider + LINE_M / 2 + 0.1, scene.divider_line))
    for x, colour in lines:
        cv2.fillConvexPoly(image, _ground_quad(cam, x, x + LINE_M, z_near, z_far), colour, cv2.LINE_8)
    return image


def dashed_lines(scene):
    """Lateral positions of the dashed lane lines of a scene."""
    xs = [scene.same_lanes[i] - scene.lane_w / 2.0 for i in range(scene.n_same - 1)]
    xs += [scene.onc_lanes[i] - scene.lane_w / 2.0 for i in range(scene.n_onc - 1)]
    if scene.n_same + scene.n_onc == 2:
        xs.append(scene.divider)
    return xs


def draw_lane_marks(image, scene, cam, tau, z_far=160.0):
    """Dashes that slide towards the camera at the ego speed."""
    phase = scene.ego_s(tau) % DASH_PERIOD_M
    z_min = 0.6 * cam.ground_z(cam.height)
    colour = scene.line if scene.n_same + scene.n_onc > 2 else scene.divider_line
    for x in dashed_lines(scene):
        z = -phase
        while z < z_far:
            z1, z2 = max(z, z_min), z + DASH_M
            if z2 > z_min:
                quad = _ground_quad(cam, x - LINE_M / 2, x + LINE_M / 2, z1, z2)
                cv2.fillConvexPoly(image, quad, colour, cv2.LINE_8)
            z += DASH_PERIOD_M
