"""Silhouettes of road users and roadside things, drawn in road coordinates.

Every shape is a handful of filled polygons, discs and lines projected by the
camera (anti-aliasing off: ``cv2.LINE_8`` is several times faster and the
sensor noise hides the jaggies). A ``Sketch`` draws them and keeps the pixel
box of what it drew, so a ground-truth box is exactly the drawn extent.
"""

import math

import cv2
import numpy as np

from dashcam.synthetic.camera import HEIGHT_M, NEAR_M

LINE = cv2.LINE_8
# Keeps coordinates of shapes that reach far outside the frame within the
# range OpenCV's fixed-point rasteriser handles.
LIMIT = 30000


def _pixel(u, v):
    """Integer pixel coordinates clamped to +-LIMIT: OpenCV refuses larger ones
    (a point beside the camera projects towards infinity)."""
    return (int(round(min(LIMIT, max(-LIMIT, u)))), int(round(min(LIMIT, max(-LIMIT, v)))))


class Sketch:
    """Draws onto ``image`` and records the box of everything drawn since ``reset``."""

    def __init__(self, image, cam):
        self.image = image
        self.cam = cam
        self.reset()

    def reset(self):
        self.x1 = self.y1 = LIMIT
        self.x2 = self.y2 = -LIMIT

    def box(self):
        """(x1, y1, x2, y2) pixel box, exclusive right/bottom edges, or None."""
        if self.x1 > self.x2:
            return None
        return (float(self.x1), float(self.y1), float(self.x2 + 1), float(self.y2 + 1))

    def _grow(self, x1, y1, x2, y2):
        self.x1 = min(self.x1, x1)
        self.y1 = min(self.y1, y1)
        self.x2 = max(self.x2, x2)
        self.y2 = max(self.y2, y2)

    def poly(self, pts, colour, box=True):
        ipts = [_pixel(u, v) for u, v in pts]
        if box:
            us = [p[0] for p in ipts]
            vs = [p[1] for p in ipts]
            self._grow(min(us), min(vs), max(us), max(vs))
        cv2.fillConvexPoly(self.image, np.array(ipts, np.int32), colour, LINE)

    def poly3(self, pts3, colour, box=True):
        point = self.cam.point
        self.poly([point(x, y, z) for x, y, z in pts3], colour, box)

    def disc(self, centre, radius, colour, box=True):
        u, v = _pixel(centre[0], centre[1])
        r = max(1, min(LIMIT, int(round(radius))))
        if box:
            self._grow(u - r, v - r, u + r, v + r)
        cv2.circle(self.image, (u, v), r, colour, -1, LINE)

    def line(self, p, q, colour, thickness, box=True):
        a, b = _pixel(p[0], p[1]), _pixel(q[0], q[1])
        t = max(1, min(LIMIT, int(round(thickness))))
        if box:
            h = t // 2
            self._grow(min(a[0], b[0]) - h, min(a[1], b[1]) - h, max(a[0], b[0]) + h, max(a[1], b[1]) + h)
        cv2.line(self.image, a, b, colour, t, LINE)

    def ring(self, pts, colour, thickness, box=True):
        ipts = np.array([(int(round(u)), int(round(v))) for u, v in pts], np.int32)
        t = max(1, int(round(thickness)))
        if box:
            h = t // 2
            self._grow(int(ipts[:, 0].min()) - h, int(ipts[:, 1].min()) - h,
                       int(ipts[:, 0].max()) + h, int(ipts[:, 1].max()) + h)
        cv2.polylines(self.image, [ipts], True, colour, t, LINE)


def _dim(colour, k):
    return tuple(int(c * k) for c in colour)


# Car bodies (metres): width, length, roof height, belt-line height, rear
# overhang to the cabin, front overhang, cabin length, rear and front window slant.
CAR_TYPES = {
    "sedan": (1.80, 4.60, 1.45, 0.92, 1.00, 1.20, 2.40, 0.45, 0.70),
    "hatchback": (1.72, 3.95, 1.50, 0.95, 0.30, 0.90, 2.65, 0.30, 0.80),
    "suv": (1.90, 4.75, 1.75, 1.05, 0.40, 1.10, 3.15, 0.20, 0.60),
    "van": (2.00, 5.20, 2.20, 1.10, 0.00, 0.80, 4.30, 0.00, 0.50),
}
CLEARANCE = 0.28
WHEEL_R = 0.33


def draw_car(sk, x, z, kind, paint, away, lights_on, glass):
    """A car whose nearest face (rear if ``away`` else front) is ``z`` metres ahead."""
    cam = sk.cam
    w, length, roof, belt, rear, front, cabin, slant_r, slant_f = CAR_TYPES[kind]
    zf = z + length
    if zf <= NEAR_M:
        return
    zn = max(z, NEAR_M)
    lead, slant_n, slant_x = (rear, slant_r, slant_f) if away else (front, slant_f, slant_r)
    zc1 = z + lead
    zc2 = zc1 + cabin
    xl, xr = x - w / 2.0, x + w / 2.0
    side = _dim(paint, 0.72)
    top = tuple(min(255, int(c * 1.12) + 8) for c in paint)
    dark = (22, 22, 24)
    xs = xl if xl > 0.05 else (xr if xr < -0.05 else None)
    if xs is not None:
        sk.poly3([(xs, CLEARANCE, zn), (xs, belt, zn), (xs, belt, zf), (xs, CLEARANCE, zf)], side)
        for zw in (z + 0.85, zf - 0.9):
            if zw - WHEEL_R > NEAR_M:
                u, v = cam.point(xs, WHEEL_R, zw)
                ry = cam.scale(zw) * WHEEL_R
                rx = abs(cam.point(xs, 0, zw - WHEEL_R)[0] - cam.point(xs, 0, zw + WHEEL_R)[0]) / 2.0
                sk.poly([(u - rx, v - ry), (u + rx, v - ry), (u + rx, v + ry), (u - rx, v + ry)], dark)
        if zc2 > NEAR_M:
            c1 = max(zc1, NEAR_M)
            sk.poly3([(xs, belt, c1), (xs, roof, max(zc1 + slant_n, NEAR_M)),
                      (xs, roof, zc2 - slant_x), (xs, belt, zc2)], side)
            sk.poly3([(xs, belt + 0.07, max(zc1 + 0.1, NEAR_M)), (xs, roof - 0.07, max(zc1 + slant_n + 0.05, NEAR_M)),
                      (xs, roof - 0.07, zc2 - slant_x - 0.05), (xs, belt + 0.07, zc2 - 0.1)], glass)
    sk.poly3([(xl, belt, zn), (xl, belt, zf), (xr, belt, zf), (xr, belt, zn)], top)
    if roof < HEIGHT_M and zc2 - slant_x > NEAR_M:
        r1 = max(zc1 + slant_n, NEAR_M)
        sk.poly3([(xl + 0.2, roof, r1), (xl + 0.2, roof, zc2 - slant_x),
                  (xr - 0.2, roof, zc2 - slant_x), (xr - 0.2, roof, r1)], top)
    if zc1 >= NEAR_M:
        zt = zc1 + slant_n
        sk.poly3([(xl + 0.06, belt, zc1), (xl + 0.2, roof, zt), (xr - 0.2, roof, zt), (xr - 0.06, belt, zc1)], paint)
        sk.poly3([(xl + 0.16, belt + 0.05, zc1 + 0.02), (xl + 0.26, roof - 0.08, zt - 0.02),
                  (xr - 0.26, roof - 0.08, zt - 0.02), (xr - 0.16, belt + 0.05, zc1 + 0.02)], glass)
    if z < NEAR_M:
        return
    for a, b in ((xl + 0.1, xl + 0.38), (xr - 0.38, xr - 0.1)):
        sk.poly3([(a, 0.0, z + 0.7), (a, 0.36, z + 0.7), (b, 0.36, z + 0.7), (b, 0.0, z + 0.7)], dark)
    sk.poly3([(xl, CLEARANCE, z), (xl, belt, z), (xr, belt, z), (xr, CLEARANCE, z)], paint)
    sk.poly3([(xl, CLEARANCE, z), (xl, CLEARANCE + 0.14, z), (xr, CLEARANCE + 0.14, z), (xr, CLEARANCE, z)],
             _dim(paint, 0.45))
    if away:
        lamp = (50, 50, 255) if lights_on else _dim((50, 50, 200), 0.9)
        for a, b in ((xl + 0.04, xl + 0.34), (xr - 0.34, xr - 0.04)):
            sk.poly3([(a, belt - 0.24, z), (a, belt - 0.06, z), (b, belt - 0.06, z), (b, belt - 0.24, z)], lamp)
        sk.poly3([(x - 0.26, 0.44, z), (x - 0.26, 0.56, z), (x + 0.26, 0.56, z), (x + 0.26, 0.44, z)], (205, 210, 210))
    else:
        lamp = (235, 250, 255) if lights_on else (190, 195, 195)
        for a, b in ((xl + 0.08, xl + 0.42), (xr - 0.42, xr - 0.08)):
            sk.poly3([(a, belt - 0.2, z), (a, belt - 0.07, z), (b, belt - 0.07, z), (b, belt - 0.2, z)], lamp)
        sk.poly3([(x - 0.36, belt - 0.26, z), (x - 0.36, belt - 0.06, z),
                  (x + 0.36, belt - 0.06, z), (x + 0.36, belt - 0.26, z)], dark)


def draw_person(sk, x, z, height, shirt, trousers, skin, hair, phase):
    """A pedestrian standing at (x, z); ``phase`` (radians) swings legs and arms."""
    s = sk.cam.scale(z)
    u0, v0 = sk.cam.point(x, 0.0, z)
    hs = height * s

    def p(dx, y):
        return (u0 + dx * hs, v0 - y * hs)

    swing = 0.11 * math.sin(phase)
    for side, sw in ((-1, swing), (1, -swing)):
        hip, foot, lw = 0.055 * side, 0.045 * side + sw, 0.034
        sk.poly([p(hip - lw, 0.5), p(hip + lw, 0.5), p(foot + lw * 0.8, 0.0), p(foot - lw * 0.8, 0.0)], trousers)
    for side, sw in ((-1, -0.6 * swing), (1, 0.6 * swing)):
        sh, hand = 0.115 * side, 0.135 * side + sw
        sk.poly([p(sh - 0.03, 0.81), p(sh + 0.03, 0.81), p(hand + 0.022, 0.46), p(hand - 0.022, 0.46)], shirt)
        sk.disc(p(hand, 0.45), 0.025 * hs, skin)
    sk.poly([p(-0.105, 0.49), p(0.105, 0.49), p(0.13, 0.82), p(-0.13, 0.82)], shirt)
    sk.disc(p(0.0, 0.925), 0.075 * hs, hair)
    sk.disc(p(0.0, 0.9), 0.062 * hs, skin)


def _bike_frame(cam, x, z, heading):
    """Point (along, up, across) metres in a bicycle's own axes -> pixels."""
    sa, ca = math.sin(heading), math.cos(heading)

    def p(a, y, c=0.0):
        return cam.point(x + a * sa + c * ca, y, max(z + a * ca - c * sa, NEAR_M))

    return p


def draw_bicycle(sk, x, z, heading, frame):
    """A bicycle at (x, z) pointing ``heading`` (0 = away down the road, pi/2 = to the right).

    Wheels, frame and handlebar are true 3D points, so a bike on the shoulder
    shows its side and one ahead in the lane shows its handlebar across.
    """
    p = _bike_frame(sk.cam, x, z, heading)
    s = sk.cam.scale(z)
    t = max(1.0, 0.045 * s)
    r = 0.34
    for ac in (-0.52, 0.52):
        sk.ring([p(ac + r * math.cos(k * math.pi / 7), r + r * math.sin(k * math.pi / 7)) for k in range(14)],
                (25, 25, 25), max(1.0, 0.05 * s))
    rear, bb, seat, head, fh = p(-0.52, r), p(-0.05, 0.3), p(-0.22, 0.86), p(0.42, 0.86), p(0.52, r)
    for a, b in ((rear, bb), (bb, seat), (seat, rear), (bb, head), (seat, head), (head, fh)):
        sk.line(a, b, frame, t)
    sk.line(head, p(0.36, 1.02), (30, 30, 30), t)
    sk.line(p(0.36, 1.02, -0.29), p(0.36, 1.02, 0.29), (30, 30, 30), t)
    sk.line(p(-0.3, 0.9), p(-0.12, 0.9), (20, 20, 20), t * 1.5)


def draw_rider(sk, x, z, heading, rider, pedal):
    """The person riding the bicycle of ``draw_bicycle``; ``rider`` is (shirt, trousers, skin, helmet)."""
    p = _bike_frame(sk.cam, x, z, heading)
    s = sk.cam.scale(z)
    t = max(1.0, 0.045 * s)
    shirt, trousers, skin, helmet = rider
    hip, shoulder = p(-0.18, 0.98), p(0.12, 1.42)
    for ph in (pedal, pedal + math.pi):
        foot = p(-0.05 + 0.17 * math.cos(ph), 0.3 + 0.17 * math.sin(ph))
        knee = p(0.12, 0.62 + 0.08 * math.sin(ph))
        sk.line(hip, knee, trousers, 2.2 * t)
        sk.line(knee, foot, trousers, 1.8 * t)
    sk.line(hip, shoulder, shirt, 4.5 * t)
    for c in (-0.2, 0.2):
        sk.line(p(0.12, 1.42, c * 0.6), p(0.36, 1.02, c * 1.3), shirt, 1.6 * t)
    head_c = p(0.2, 1.58)
    sk.disc(head_c, 0.11 * s, skin)
    sk.disc((head_c[0], head_c[1] - 0.04 * s), 0.1 * s, helmet)


SIGN_SHAPES = ("circle", "triangle", "yield", "rectangle", "octagon", "diamond", "direction")


def draw_sign_pole(sk, x, z, plate_bottom, colour):
    """The pole; not part of the sign's box (the plate is what gets labelled)."""
    sk.poly3([(x - 0.04, 0.0, z), (x - 0.04, plate_bottom, z), (x + 0.04, plate_bottom, z),
              (x + 0.04, 0.0, z)], colour, box=False)


def draw_sign_plate(sk, x, z, centre_y, size, shape, colours):
    """A sign face of ``size`` metres centred ``centre_y`` above the road."""
    s = sk.cam.scale(z)
    cu, cv = sk.cam.point(x, centre_y, z)
    rad = size * s / 2.0
    main, inner, mark = colours

    def reg(n, r, rot):
        return [(cu + r * math.cos(rot + 2 * math.pi * k / n), cv + r * math.sin(rot + 2 * math.pi * k / n))
                for k in range(n)]

    if shape == "circle":
        sk.disc((cu, cv), rad, main)
        sk.disc((cu, cv), rad * 0.76, inner)
        sk.poly([(cu - rad * 0.4, cv - rad * 0.12), (cu + rad * 0.4, cv - rad * 0.12),
                 (cu + rad * 0.4, cv + rad * 0.12), (cu - rad * 0.4, cv + rad * 0.12)], mark)
    elif shape in ("triangle", "yield"):
        rot = -math.pi / 2 if shape == "triangle" else math.pi / 2
        dy = rad * 0.25 if shape == "triangle" else -rad * 0.25
        outer = [(u, v + dy) for u, v in reg(3, rad * 1.15, rot)]
        sk.poly(outer, main)
        sk.poly([(u, v + dy) for u, v in reg(3, rad * 0.72, rot)], inner)
        if shape == "triangle":
            sk.disc((cu, cv + dy + rad * 0.05), rad * 0.14, mark)
    elif shape == "octagon":
        sk.poly(reg(8, rad * 1.04, math.pi / 8), main)
        sk.poly(reg(8, rad * 0.84, math.pi / 8), inner)
        sk.poly(reg(8, rad * 0.76, math.pi / 8), main)
    elif shape == "diamond":
        sk.poly(reg(4, rad * 1.2, 0.0), mark)
        sk.poly(reg(4, rad * 1.05, 0.0), main)
        sk.poly([(cu - rad * 0.1, cv - rad * 0.5), (cu + rad * 0.1, cv - rad * 0.5),
                 (cu + rad * 0.1, cv + rad * 0.3), (cu - rad * 0.1, cv + rad * 0.3)], mark)
    else:
        wide = 1.9 if shape == "direction" else 1.0
        hw, hh = rad * wide, rad * (0.62 if shape == "direction" else 1.0)
        sk.poly([(cu - hw, cv - hh), (cu + hw, cv - hh), (cu + hw, cv + hh), (cu - hw, cv + hh)], inner)
        k = 0.86
        sk.poly([(cu - hw * k, cv - hh * k), (cu + hw * k, cv - hh * k),
                 (cu + hw * k, cv + hh * k), (cu - hw * k, cv + hh * k)], main)
        sk.poly([(cu - hw * 0.5, cv - hh * 0.15), (cu + hw * 0.35, cv - hh * 0.15),
                 (cu + hw * 0.35, cv + hh * 0.15), (cu - hw * 0.5, cv + hh * 0.15)], inner)


def draw_tree(sk, x, z, height, crown, trunk):
    s = sk.cam.scale(z)
    u0, v0 = sk.cam.point(x, 0.0, z)
    tw = 0.15 * height * s / 3.0
    sk.poly([(u0 - tw, v0), (u0 - tw, v0 - 0.55 * height * s), (u0 + tw, v0 - 0.55 * height * s), (u0 + tw, v0)],
            trunk, box=False)
    r = 0.22 * height * s
    sk.disc((u0, v0 - 0.72 * height * s), r, crown, box=False)
    sk.disc((u0 - 0.5 * r, v0 - 0.6 * height * s), 0.75 * r, _dim(crown, 0.85), box=False)
    sk.disc((u0 + 0.55 * r, v0 - 0.62 * height * s), 0.7 * r, _dim(crown, 1.1), box=False)


def draw_building(sk, x, z1, z2, height, wall, window):
    """A facade in the plane ``x`` from ``z1`` to ``z2`` metres, with a grid of windows."""
    z1 = max(z1, NEAR_M + abs(x) / 8.0)
    if z2 <= z1:
        return
    sk.poly3([(x, 0.0, z1), (x, height, z1), (x, height, z2), (x, 0.0, z2)], wall, box=False)
    floors = max(1, int(height / 3.2))
    bays = max(1, int((z2 - z1) / 3.5))
    if (z1 + z2) / 2.0 > 120.0:
        return
    for i in range(floors):
        y = 1.0 + 3.2 * i
        for j in range(bays):
            za = z1 + 3.5 * j + 1.0
            sk.poly3([(x, y, za), (x, y + 1.5, za), (x, y + 1.5, za + 1.6), (x, y, za + 1.6)], window, box=False)
