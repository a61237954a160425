"""A short drive as NMEA 0183 (RMC and GGA per fix, checksummed) with known positions and
speeds, and a real gpsd fed it by ``gpsfake`` on a free port (Debian's gpsd/gpsd-clients)."""

import contextlib
import datetime
import functools
import operator
import os
import shutil
import signal
import socket
import subprocess
from collections import namedtuple

import pytest

KNOTS_PER_MPS = 3600.0 / 1852.0

Point = namedtuple("Point", "time lat lon speed course alt")   # speed m/s, course degrees


def drive(start, fixes=12, interval=1.0):
    """A car heading north-east from Munich, speeding up 1 m/s per fix from 5 m/s."""
    points = []
    for i in range(fixes):
        speed = 5.0 + i
        points.append(Point(start + i * interval, 48.1 + i * 0.0001, 11.5 + i * 0.00005,
                            speed, 30.0 + i, 520.0 + i))
    return points


def checksummed(body):
    return "${}*{:02X}".format(body, functools.reduce(operator.xor, body.encode("ascii"), 0))


def _angle(value, width):
    """NMEA's ddmm.mmmmmm (or dddmm.mmmmmm) of a positive angle."""
    degrees = int(value)
    return "{:0{}d}{:09.6f}".format(degrees, width, (value - degrees) * 60.0)


def sentences(point):
    """The RMC and GGA of ``point``, as a receiver sends them (CRLF-ended)."""
    moment = datetime.datetime.fromtimestamp(point.time, datetime.timezone.utc)
    hms = moment.strftime("%H%M%S.") + "{:02d}".format(moment.microsecond // 10000)
    lat, lon = _angle(point.lat, 2), _angle(point.lon, 3)
    rmc = "GPRMC,{},A,{},N,{},E,{:.3f},{:.1f},{},,,A".format(
        hms, lat, lon, point.speed * KNOTS_PER_MPS, point.course, moment.strftime("%d%m%y"))
    gga = "GPGGA,{},{},N,{},E,1,08,0.9,{:.1f},M,46.9,M,,".format(hms, lat, lon, point.alt)
    return [checksummed(rmc) + "\r\n", checksummed(gga) + "\r\n"]


def write_log(path, points):
    with open(path, "w") as out:
        for point in points:
            out.writelines(sentences(point))
    return str(path)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gpsfake(log, cycle):
    """A real gpsd on a free port replaying ``log`` once (``cycle`` s between sentences),
    starting when the first client connects; yields ``(port, unplug)``: ``unplug()`` kills
    gpsfake and its gpsd (as at the end). gpsd needs the first few sentences to find the
    device's protocol: the first fixes of a log are not reported."""
    if not (shutil.which("gpsfake") and os.path.exists("/usr/sbin/gpsd")):
        pytest.skip("gpsfake/gpsd are not installed (apt-get install gpsd gpsd-clients)")
    port = free_port()
    process = subprocess.Popen(["gpsfake", "-q", "-1", "-P", str(port), "-c", str(cycle), log],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)

    def unplug():
        try:
            os.killpg(process.pid, signal.SIGKILL)   # gpsfake waits on its gpsd otherwise
        except ProcessLookupError:
            pass
        process.wait(10)

    try:
        yield port, unplug
    finally:
        unplug()
