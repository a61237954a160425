"""The fleet link: events, alerts and heartbeats to an MQTT broker through an outbox in the
store that loses nothing, a few commands back, and clips uploaded on request
(docs/fleet.md).

``messages`` builds the payloads, ``outbox`` keeps them in the store until the broker
acknowledges them, ``link`` sends them (paho-mqtt, ``client``), ``commands`` answers
``<prefix>/cmd``, ``sink`` takes alerts from the alert engine, ``heartbeat`` says how
the run is doing, ``build`` wires them from ``[mqtt]``;
``upload`` and ``transfer`` PUT clips to presigned URLs (``[upload]``).
"""

from dashcam.fleet.build import Fleet, build_fleet

__all__ = ("Fleet", "build_fleet")
