"""Crafted accelerometer traces, as a chip mounted at an angle would record a drive.

A drive is a list of phases ``(seconds, longitudinal g, lateral g, vertical g)`` in the
vehicle frame (x ahead, y left, z up); ``trace`` turns it into chip samples at ``rate``
Hz: gravity (+1 g up) added, rotated into the chip's axes by ``mount`` (the chip's yaw,
pitch and roll behind the windscreen), with a little noise. ``write_trace`` writes the
``csv://`` file.
"""

import math

import numpy as np


def rotation(yaw_deg, pitch_deg, roll_deg):
    """Vehicle frame -> chip frame."""
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    rz = np.array([[math.cos(y), -math.sin(y), 0], [math.sin(y), math.cos(y), 0], [0, 0, 1]])
    ry = np.array([[math.cos(p), 0, math.sin(p)], [0, 1, 0], [-math.sin(p), 0, math.cos(p)]])
    rx = np.array([[1, 0, 0], [0, math.cos(r), -math.sin(r)], [0, math.sin(r), math.cos(r)]])
    return (rz @ ry @ rx).T


def trace(phases, rate=100, mount=(90.0, 12.0, -4.0), noise=0.004, seed=1):
    """``[(t, ax, ay, az)]`` of ``phases`` (see the module)."""
    chip = rotation(*mount)
    rng = np.random.RandomState(seed)
    rows, t = [], 0.0
    for seconds, lon, lat, vert in phases:
        for _ in range(int(round(seconds * rate))):
            a = chip @ np.array([lon, lat, 1.0 + vert]) + rng.normal(0.0, noise, 3)
            rows.append((round(t, 4),) + tuple(float(v) for v in a))
            t += 1.0 / rate
    return rows


def write_trace(path, rows):
    with open(str(path), "w") as handle:
        handle.write("t,ax,ay,az\n")
        for row in rows:
            handle.write("{:.4f},{:.5f},{:.5f},{:.5f}\n".format(*row))
    return str(path)


REST = (2.0, 0.0, 0.0, 0.0)
PULL_AWAY = (1.0, 0.3, 0.0, 0.0)           # a calm start: below harsh_acceleration
CRUISE = (2.0, 0.0, 0.0, 0.0)
POTHOLE = [(0.03, 0.0, 0.0, -0.6), (0.03, 0.0, 0.0, 0.8), (0.5, 0.0, 0.0, 0.0)]
BRAKING = (1.5, -0.5, 0.0, 0.0)            # harsh_braking at fleet thresholds
KNOCK = (0.05, 0.9, 1.2, 0.0)              # 1.5 g from ahead-left, 50 ms
