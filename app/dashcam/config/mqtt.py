"""[mqtt]: the fleet link (``dashcam.fleet``): events and alerts to an MQTT broker.

The password is read from a file (``password-file``), never written in the
configuration: a run's configuration is copied into the store (``runs.config``)
and onto export sticks, where a password must not travel.
"""

import socket
from collections import namedtuple

from dashcam.config.fields import Field, Section, boolean, integer, number, parsed, text
from dashcam.events import TYPES
from dashcam.recording.retention import parse_size

SCHEMES = {"mqtt": (False, 1883), "mqtts": (True, 8883)}
TOPIC_FORBIDDEN = "+#"


class BrokerUrl(namedtuple("BrokerUrl", "tls host port")):
    """Where the broker is: ``mqtt://host[:port]`` (1883) or ``mqtts://host[:port]`` (8883, TLS)."""

    __slots__ = ()

    @classmethod
    def parse(cls, value):
        """A ``BrokerUrl``, or None for an empty value; ValueError otherwise."""
        value = value.strip()
        if not value:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in SCHEMES:
            raise ValueError(value)
        tls, port = SCHEMES[scheme.lower()]
        host, colon, number_text = rest.rstrip("/").rpartition(":")
        if not colon:
            host, number_text = rest.rstrip("/"), str(port)
        if not host or "/" in host or not number_text.isdigit() or not 0 < int(number_text) < 65536:
            raise ValueError(value)
        return cls(tls, host.strip("[]"), int(number_text))

    def __str__(self):
        return "{}://{}:{}".format("mqtts" if self.tls else "mqtt", self.host, self.port)


def topic_part(allowed, levels=True):
    """Topic levels (one level unless ``levels``) without MQTT wildcards; empty allowed."""
    def parse(value):
        value = value.strip().strip("/")
        if any(c in value for c in TOPIC_FORBIDDEN) or "//" in value or (
                "/" in value and not levels):
            raise ValueError(value)
        return value
    return parsed(parse, allowed)


def _bytes(value):
    size = parse_size(value)
    if size.kind != "bytes":
        raise ValueError(value)
    return int(size.value)


class EventTypes(tuple):
    """The event types published: ``*`` (all) or known types separated by commas."""

    @classmethod
    def parse(cls, value):
        names = cls(n.strip() for n in value.split(",") if n.strip())
        if names != ("*",) and (not names or any(n not in TYPES for n in names)):
            raise ValueError(value)
        return names

    def __contains__(self, event_type):
        return tuple.__contains__(self, "*") or tuple.__contains__(self, event_type)

    def __str__(self):
        return ", ".join(self)


def _url(value):
    BrokerUrl.parse(value)   # raises ValueError for what is not a broker URL
    return value.strip()


def device_name(section):
    """The device id: ``[mqtt] device-id``, else this machine's host name."""
    return section.device_id or socket.gethostname().split(".")[0] or "dashcam"


def topic_prefix(section):
    """``[mqtt] topic-prefix``, else ``dashcam/<device id>``."""
    return section.topic_prefix or "dashcam/" + device_name(section)


class Mqtt(Section):
    """[mqtt]: the fleet link to an MQTT broker (docs/fleet.md)."""

    name = "mqtt"
    fields = (
        Field("enabled", False, boolean(), "publish events, alerts and heartbeats to the broker"),
        Field("url", "", parsed(_url, "mqtt://host[:port] or mqtts://host[:port]"),
              "the broker; mqtts:// is TLS (port 8883 unless given)"),
        Field("device-id", "", topic_part("a name without / + #", levels=False),
              "this vehicle's id in topics and messages; empty: the host name"),
        Field("topic-prefix", "", topic_part("topic levels without + or #"),
              "where this device publishes; empty: dashcam/<device-id>"),
        Field("username", "", text("a user name"), "broker user name; empty: none"),
        Field("password-file", "", text("a path to a file holding the password"),
              "the broker password, read from this file (kept out of the stored configuration)"),
        Field("ca-file", "", text("a path to PEM CA certificates"),
              "mqtts: the CAs that sign the broker's certificate; empty: the system's"),
        Field("cert-file", "", text("a path to a PEM certificate"),
              "mqtts: this device's client certificate; empty: none"),
        Field("key-file", "", text("a path to a PEM private key"),
              "mqtts: the client certificate's key"),
        Field("keep-alive", 60, integer(5, 3600),
              "seconds between pings; the broker declares the device offline after 1.5 times this"),
        Field("heartbeat-interval", 30.0, number(0.0, 86400.0),
              "seconds between heartbeat messages (0: none)"),
        Field("outbox-max-rows", 20000, integer(10, 10000000),
              "messages the outbox keeps while offline; past it heartbeats, then the oldest "
              "events, then the oldest alerts are dropped (and reported as a gap)"),
        Field("outbox-max-bytes", 16 << 20, parsed(_bytes, "a size: 16M, 500K, 1G, or bytes"),
              "bytes of messages the outbox keeps while offline, dropped in the same order"),
        Field("drain-rate", 20.0, number(0.1, 10000.0),
              "events and heartbeats per second sent from a backlog (alerts are not held back)"),
        Field("events", EventTypes(("*",)), parsed(EventTypes.parse, "* or event types separated by commas: "
                                                    + ", ".join(TYPES)),
              "event types published on <prefix>/events"),
    )
