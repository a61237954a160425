"""The fleet link as ``build_pipeline`` wires it, from ``[mqtt]``."""

import time

from dashcam.config.mqtt import BrokerUrl, device_name, topic_prefix
from dashcam.errors import ConfigError
from dashcam.fleet.client import configure, new_client
from dashcam.fleet.commands import Commands, ResultPublisher
from dashcam.fleet.link import FleetLink
from dashcam.fleet.outbox import OutboxIndex
from dashcam.fleet.sink import FleetAlertSink

MAX_INFLIGHT = 16   # messages waiting for their PUBACK; more would only queue inside paho


class Fleet:
    """The link's worker, its alert sink, and ``publish_result`` (for the uploader)."""

    def __init__(self, link, sink, results, index):
        self.link, self.sink, self.results, self.index = link, sink, results, index

    @property
    def workers(self):
        return [self.link]

    def publish_result(self, payload):
        """Put a command's result (``request_id``, ``cmd``, ``status``, ...) in the outbox."""
        return self.results.publish(payload)


def build_fleet(section, store, submit, open_reader, describe, run_id, client=None, lock=None,
                make_uploader=None, position=None, clock=time.monotonic, wall_clock=time.time):
    """A ``Fleet`` for ``section`` (``[mqtt]``), or None when it is disabled.

    ``store`` learns the outbox's records; ``submit``: the event logger's;
    ``open_reader()``: a ``StoreReader``; ``describe()``: the heartbeat's figures;
    ``run_id()``: the run's id. ``client``: a paho client (else one is made);
    ``lock(note)``: what the ``lock`` command does; ``make_uploader(publish_result)``:
    the uploader for ``upload`` (None: those commands fail, saying so); ``position(t)``: the
    GPS fix at ``t`` for the alerts (``gps.GpsState.at``).
    """
    if not section.enabled:
        return None
    url = BrokerUrl.parse(section.url)
    if url is None:
        raise ConfigError("[mqtt] enabled = true needs url = mqtt://HOST[:PORT] or "
                          "mqtts://HOST[:PORT] (or set enabled = false)")
    device, prefix = device_name(section), topic_prefix(section)
    client = configure(client or new_client("dashcam-" + device), section, url,
                       prefix + "/status", MAX_INFLIGHT + 4)
    index = OutboxIndex(device, section.outbox_max_rows, section.outbox_max_bytes,
                        section.events).register(store)
    results = ResultPublisher(device, submit, wall_clock)
    uploader = make_uploader(results.publish) if make_uploader is not None else None
    commands = Commands(device, results, lock, uploader, clock)
    link = FleetLink(client, url, device, prefix, submit, open_reader, commands, describe,
                     section.heartbeat_interval, section.drain_rate, section.keep_alive,
                     MAX_INFLIGHT, clock=clock, wall_clock=wall_clock)
    index.listeners.append(link.committed)
    sink = FleetAlertSink(device, submit, run_id, position=position, clock=clock,
                          wall_clock=wall_clock)
    return Fleet(link, sink, results, index)
