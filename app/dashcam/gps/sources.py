"""Which GPS a ``[gps] source`` names, and opening it: the one dispatch on the URL's scheme.

``gpsd://HOST:PORT`` (gpsd's JSON protocol; 127.0.0.1:2947 when left out),
``nmea:///dev/ttyUSB0?baud=9600`` (NMEA 0183 read from the serial device), or ``none``;
``synthetic://?scenario=brake`` is the synthetic world's own car (``auto`` and ``synthetic``
name the camera's: ``synthetic.senses.sense_url``).
Each opened source has ``read(timeout)`` -> ``Fix`` or None and ``close()``, and raises
``senses.SensorError`` when its device is gone (``dashcam.senses``).
"""

from urllib.parse import parse_qs, urlsplit

from dashcam.errors import ConfigError

SCHEMES = ("gpsd", "nmea", "synthetic")
GPSD_PORT = 2947
DEFAULT_BAUD = 9600
ALLOWED = ("auto, none, gpsd://HOST:PORT (gpsd), nmea:///dev/ttyUSB0?baud=9600 (a serial receiver), "
           "synthetic (the synthetic camera's own car)")


def parse_gps_url(url):
    """``(scheme, where, options)`` of a GPS URL: ``("gpsd", (host, port), {})`` or
    ``("nmea", path, {"baud": n})``; ``("none", None, {})``. ConfigError names what is wrong."""
    text = (url or "").strip()
    if text.lower() in ("", "none"):
        return "none", None, {}
    if text in ("auto", "synthetic"):   # the camera's world (``synthetic.senses.sense_url``)
        return text, None, {}
    parts = urlsplit(text)
    if parts.scheme == "synthetic":
        return "synthetic", text, {}
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        if parts.scheme == "gpsd" and parts.path in ("", "/"):
            return "gpsd", (parts.hostname or "127.0.0.1", parts.port or GPSD_PORT), {}
        if parts.scheme == "nmea" and parts.path:
            baud = int(query.get("baud", DEFAULT_BAUD))
            if baud <= 0:
                raise ValueError(baud)
            return "nmea", parts.path, {"baud": baud}
    except ValueError:   # a port or baud rate that is not a number
        pass
    raise ConfigError(f"GPS source {text!r} is not one of: {ALLOWED}")


def checked_gps_url(text):
    """``text`` stripped, once ``parse_gps_url`` reads it (the configuration's parser)."""
    parse_gps_url(text)
    return text.strip()


def open_gps_source(url, on_line=None):
    """The source ``url`` names, opened; ``on_line(line)`` sees every line it reads (the raw
    log). SensorError when its device cannot be reached now (the worker tries again)."""
    scheme, where, options = parse_gps_url(url)
    if scheme == "gpsd":
        from dashcam.gps.gpsd import GpsdSource

        return GpsdSource(where[0], where[1], on_line=on_line)
    if scheme == "nmea":
        from dashcam.gps.nmea import NmeaSource

        return NmeaSource(where, options["baud"], on_line=on_line)
    if scheme == "synthetic":
        from dashcam.synthetic.senses import open_sense

        return open_sense("gps", where)
    raise ConfigError(f"GPS source {url!r} opens nothing: {ALLOWED}")
