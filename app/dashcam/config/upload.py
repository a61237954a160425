"""[upload]: clip uploads over HTTP (``dashcam.fleet.upload``).

Clips go where the fleet link's ``upload`` command says (a presigned PUT URL
in the command). With ``endpoint`` set, the clips of ``auto`` event types also
go by themselves: for each, the dashcam POSTs ``{"device": ID, "event_id": N,
"kind": TYPE}`` (JSON; ``Authorization: Bearer TOKEN`` with ``token``) to the
endpoint, which answers ``{"url": PRESIGNED_PUT_URL}`` and optionally
``"headers": {NAME: VALUE}`` to send with the PUT (what the URL was signed
with); the dashcam then PUTs the MP4 there. The endpoint is asked again at
each try, so an expired URL is not retried.
"""

import socket
from urllib.parse import urlsplit

from dashcam.config.fields import Field, Section, integer, number, parsed, text


def _endpoint(value):
    value = value.strip()
    parts = urlsplit(value)
    if value and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ValueError(value)
    return value


def auto_types(value):
    """The event types of ``auto``, a set."""
    return {t.strip() for t in value.split(",") if t.strip()}


class Upload(Section):
    """[upload]: where event clips are uploaded, how fast, how persistently."""

    name = "upload"
    fields = (
        Field("endpoint", "", parsed(_endpoint, "an http:// or https:// URL, or empty"),
              "issues a presigned PUT URL for each clip the dashcam uploads by itself "
              "(POST {device, event_id, kind} -> {url}); empty: clips go only on request"),
        Field("token", "", text("a bearer token"),
              "sent to the endpoint as Authorization: Bearer TOKEN; empty: none"),
        Field("auto", "alert, impact", text("event types separated by commas"),
              "event types whose clip is uploaded by itself when endpoint is set"),
        Field("bandwidth", 262144, integer(0, 1 << 30),
              "upload cap in bytes/s (0: none); one upload at a time"),
        Field("retries", 5, integer(0, 100),
              "tries after a failed one that may pass later (network, server error)"),
        Field("retry-interval", 10.0, number(0.1, 3600.0),
              "seconds before the first retry, doubling each time up to 10 minutes"),
    )


def mqtt_url(config):
    """``[mqtt] url`` (the fleet link's broker), empty where it is unset or unknown here."""
    return getattr(config.sections.get("mqtt"), "url", "") or ""


def fleet_device(config):
    """The device id the fleet knows this dashcam by: ``[mqtt] device``, else the host name."""
    return getattr(config.sections.get("mqtt"), "device", "") or socket.gethostname()
