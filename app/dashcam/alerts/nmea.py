"""The serial line's sentences: NMEA 0183 framing, proprietary, so no receiver takes them for
standard ones (``$--ALR`` is the standard alarm sentence; ours start ``$P``).

``$PDCAM,<type>,...*<checksum>\\r\\n``: ``P`` proprietary, ``DCA`` the maker code,
``M`` the sentence letter, then the message type (``ALR``, ``HBT``, ``SIG``); the
checksum is the XOR of every character between ``$`` and ``*``, two upper-case
hex digits. Fields are printable ASCII without ``$ * , ! \\ ^ ~`` (NMEA's
reserved characters): anything else in a label becomes ``_``.

::

    $PDCAM,ALR,<hhmmss.sss UTC>,<severity>,<rule>,<label>,<confidence 2 dp>,<ttc 1 dp or empty>,<track id>*hh
    $PDCAM,HBT,<hhmmss.sss UTC>,<fps 1 dp>,<status>*hh
    $PDCAM,SIG,<hhmmss.sss UTC>,<signal>*hh
"""

import re
import time

ADDRESS = "PDCAM"
RESERVED = re.compile(r"[^\x20-\x7e]|[$*,!\\^~]")
MAX_LENGTH = 82   # NMEA 0183's longest sentence, "$" to "\r\n"
# Heartbeat statuses: frames flowing; none yet; none for a while; the camera is lost.
OK, STARTING, STALLED, CAMERA_LOST = "OK", "STARTING", "STALLED", "CAMLOST"


def checksum(body):
    """The XOR of the characters of ``body`` (what lies between ``$`` and ``*``)."""
    value = 0
    for char in body:
        value ^= ord(char)
    return value


def field(value):
    return RESERVED.sub("_", str(value))


def sentence(*fields):
    """``$<fields joined by ,>*<checksum>\\r\\n`` as bytes."""
    body = ",".join([ADDRESS] + [field(f) for f in fields])
    return f"${body}*{checksum(body):02X}\r\n".encode("ascii")


def hhmmss(t_utc):
    """UTC epoch seconds as NMEA's ``hhmmss.sss``."""
    millis = int(round(t_utc * 1000.0)) % 86400000
    seconds, millis = divmod(millis, 1000)
    return "{}.{:03d}".format(time.strftime("%H%M%S", time.gmtime(seconds)), millis)


def alert_sentence(alert):
    """``$PDCAM,ALR``: one alert, stamped with its frame's capture time."""
    ttc = "" if alert.ttc is None else f"{alert.ttc:.1f}"
    return sentence("ALR", hhmmss(alert.t_utc), alert.severity, alert.rule, alert.label,
                    f"{alert.confidence:.2f}", ttc, alert.track_id)


def heartbeat_sentence(t_utc, fps, status):
    """``$PDCAM,HBT``: the dashcam is alive, processing ``fps`` frames a second, ``status``."""
    return sentence("HBT", hhmmss(t_utc), f"{fps:.1f}", status)


def signal_sentence(t_utc, kind):
    """``$PDCAM,SIG``: a signal from another stage (``sinks.SIGNALS``: export done, ...)."""
    return sentence("SIG", hhmmss(t_utc), kind)
