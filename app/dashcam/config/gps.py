"""[gps]: where the position and speed come from, and when a fix counts as lost."""

from dashcam.config.fields import Field, Section, integer, number, parsed
from dashcam.gps.sources import ALLOWED, checked_gps_url


class Gps(Section):
    """[gps]: the receiver (gpsd or a serial NMEA device), its lost-fix rule, its raw log."""

    name = "gps"
    fields = (
        Field("source", "auto", parsed(checked_gps_url, ALLOWED),
              "gpsd://127.0.0.1:2947, nmea:///dev/ttyUSB0?baud=9600, none, or synthetic: the "
              "synthetic camera's own car (auto: that with a synthetic scenario, else none)"),
        Field("lost-after", 3.0, number(0.5, 600.0),
              "seconds without a fix before gps_lost; a fix older than this stamps nothing"),
        Field("reopen-interval", 1.0, number(0.05, 60.0),
              "seconds between tries to reopen a receiver (or gpsd) that is gone"),
        Field("store-interval", 1.0, number(0.0, 3600.0),
              "at most one stored fix per this many seconds, besides fix-state changes"),
        Field("log-size", 1024, integer(0, 1 << 20),
              "kB of raw NMEA / gpsd lines per log file beside the store (0: no raw log)"),
        Field("log-files", 3, integer(1, 99), "rotated raw log files kept besides the current one"),
    )
