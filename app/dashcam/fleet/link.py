"""The fleet link's worker: sends the outbox's rows to the broker, deletes what it acknowledged.

Rows come from two places: those the outbox held at the start (a power cut, a
day offline: read from the store), and those committed since (the outbox's
``listeners``). They are sent in order of priority, then age (alerts first, then
events, then heartbeats), events and heartbeats at most ``drain_rate`` a second
so that a backlog does not crowd the link, alerts at once; at most
``max_inflight`` wait for their PUBACK. The worker keeps at most ``memory_rows``
rows in memory: past it the rest stay in the store (``floor``: the first key not
held) and are read back in order as the rows in memory are sent.

A PUBACK (paho's ``on_publish``) is the only thing that removes a row: the
worker submits ``Acked`` to the event logger. Rows sent while the broker was
away are sent again by paho when it comes back (a session's in-flight
messages), and by a later run if this one stops first: a consumer may see a
message twice, and drops the second by its ``id``.

paho's network thread only puts what happened on the worker's ``inbox``; the
worker does the rest, on its own thread: ``connect`` (subscribe to
``<prefix>/cmd``, retained ``online`` on ``<prefix>/status``, ``GapDue``),
``disconnect``, ``ack``, ``cmd`` (``commands.Commands``), ``rows``.
"""

import bisect
import logging
import queue
import time

from dashcam.fleet import messages as msg
from dashcam.fleet.client import disconnect_code, failed
from dashcam.fleet.outbox import Acked, GapDue, LinkState
from dashcam.store.outbox import outbox_totals, pending_messages
from dashcam.worker import Throttled, Worker

log = logging.getLogger(__name__)

MAX_COMMANDS = 32   # commands waiting for the worker; past it they are ignored (a flood)


class FleetLink(Worker):
    """Sends the outbox of ``device`` through ``client`` (paho, configured) to ``url``
    (``config.mqtt.BrokerUrl``) under topic ``prefix``.

    ``submit``: the event logger's; ``open_reader()``: a ``StoreReader`` on the store;
    ``commands``: called with each ``<prefix>/cmd`` payload; ``describe()``: the
    heartbeat's figures, every ``heartbeat_interval`` seconds (0: no heartbeat).
    ``linger`` seconds at the stop for the PUBACKs of what is in flight. Counters:
    ``sent``, ``acked``, ``connects``.
    """

    name = "fleet-link"

    def __init__(self, client, url, device, prefix, submit, open_reader, commands=None,
                 describe=None, heartbeat_interval=30.0, drain_rate=20.0, keep_alive=60,
                 max_inflight=16, memory_rows=256, linger=0.25, clock=time.monotonic,
                 wall_clock=time.time):
        Worker.__init__(self)
        self.client, self.url, self.device, self.prefix = client, url, device, prefix
        self.submit, self.open_reader, self.commands = submit, open_reader, commands
        self.describe, self.heartbeat_interval = describe, heartbeat_interval
        self.drain_rate, self.keep_alive, self.max_inflight = drain_rate, keep_alive, max_inflight
        self.memory_rows, self.linger = memory_rows, linger
        self.clock, self.wall_clock = clock, wall_clock
        self.inbox = queue.Queue()
        self.connected = False
        self.keys, self.rows = [], {}      # (priority, seq) in send order; seq -> row
        self.inflight = {}                 # paho mid -> seq
        self.floor = (-1, -1)              # rows at or after this key wait in the store
        self.acks, self.commands_waiting = [], 0
        self.tokens, self._filled = float(max(1.0, drain_rate)), clock()
        self.sent = self.acked = self.connects = 0
        self.last_ack = None
        self.report = Throttled(log, clock=clock)
        self._reader = None
        client.on_connect, client.on_disconnect = self._on_connect, self._on_disconnect
        client.on_publish, client.on_message = self._on_publish, self._on_message

    def topic(self, name):
        return self.prefix + "/" + name

    # paho's thread: only hand over
    def committed(self, added, dropped):
        """The outbox's listener (on the writer's thread): rows committed, rows dropped."""
        self.inbox.put(("rows", added, dropped))

    def _on_connect(self, client, userdata, flags, code, *properties):
        self.inbox.put(("connect", failed(code), str(code)))

    def _on_disconnect(self, client, userdata, *args):
        self.inbox.put(("disconnect", str(disconnect_code(args))))

    def _on_publish(self, client, userdata, mid, *rest):
        self.inbox.put(("ack", mid))

    def _on_message(self, client, userdata, message):
        if self.commands_waiting < MAX_COMMANDS:
            self.commands_waiting += 1
            self.inbox.put(("cmd", message.payload))

    def wake(self):
        self.inbox.put(("wake",))

    # the worker's thread
    def run(self):
        self._reader = self.open_reader()
        try:
            self._refill()   # what the outbox held from before this start
            self.client.connect_async(self.url.host, self.url.port, self.keep_alive)
            self.client.loop_start()
            beat = self.clock() + self.heartbeat_interval if self.heartbeat_interval else None
            while not self.stopping:
                now = self.clock()
                if beat is not None and now >= beat:
                    self._heartbeat()
                    beat = now + self.heartbeat_interval
                wait = 1.0 if beat is None else max(0.0, beat - now)
                self._take(min(wait, self._send(now)))
                self._flush_acks()
            self._finish()
        finally:
            self._reader.close()

    def _take(self, timeout):
        """Handle what is on the inbox, waiting up to ``timeout`` seconds for the first."""
        try:
            item = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            self._handle(item)
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return

    def _handle(self, item):
        kind = item[0]
        if kind == "rows":
            for row in item[1]:
                self._accept(row)
            for seq in item[2]:
                self._forget(seq)
            if item[2] and self.connected:   # the bound dropped rows while online: say so now
                self.submit(GapDue(self.wall_clock()))
        elif kind == "ack":
            seq = self.inflight.pop(item[1], None)
            if seq is not None:
                self.acks.append(seq)
        elif kind == "connect":
            self._connected(*item[1:])
        elif kind == "disconnect":
            if self.connected:
                self.connected = False
                log.warning("fleet link: broker %s lost (%s); messages wait in the outbox",
                            self.url, item[1])
                self.submit(LinkState("disconnected", self.wall_clock(), item[1]))
        elif kind == "cmd":
            self.commands_waiting -= 1
            if self.commands is not None:
                self.commands(item[1])

    def _connected(self, refused, why):
        if refused:
            self.report("refused", logging.ERROR, "fleet link: broker %s refused the connection "
                        "(%s); check [mqtt] username, password-file and certificates",
                        self.url, why)
            return
        self.connected = True
        self.connects += 1
        log.info("fleet link: connected to %s as %s", self.url, self.device)
        self.client.subscribe(self.topic("cmd"), qos=1)
        self.client.publish(self.topic("status"), "online", qos=1, retain=True)
        self.submit(LinkState("connected", self.wall_clock(), str(self.url)))
        self.submit(GapDue(self.wall_clock()))

    def _accept(self, row):
        """Keep a committed row in memory, unless rows before it wait in the store."""
        seq, _, priority, _ = row
        key = (priority, seq)
        if seq in self.rows or seq in self.inflight.values() or (
                self.floor is not None and key >= self.floor):
            return
        bisect.insort(self.keys, key)
        self.rows[seq] = row
        if len(self.keys) > self.memory_rows:
            worst = self.keys.pop()
            del self.rows[worst[1]]
            self.floor = worst if self.floor is None else min(self.floor, worst)

    def _forget(self, seq):
        """A row the outbox's bound dropped (unless already sent: it arrives all the same)."""
        row = self.rows.pop(seq, None)
        if row is not None:
            self.keys.remove((row[2], seq))

    def _refill(self):
        """Read the next rows from the store, in send order, once memory has none."""
        inflight = set(self.inflight.values())
        found = pending_messages(self._reader.conn, inflight, self.memory_rows)
        self.floor = None
        for row in found:
            self._accept(tuple(row))
        if len(found) >= self.memory_rows:
            self.floor = (found[-1][2], found[-1][0])

    def _send(self, now):
        """Publish what may go now; seconds until more may (the rate), at most 1."""
        if not self.connected:
            return 1.0
        self.tokens = min(max(1.0, self.drain_rate),
                          self.tokens + (now - self._filled) * self.drain_rate)
        self._filled = now
        while len(self.inflight) < self.max_inflight:
            if not self.keys and self.floor is not None:
                self._refill()
            if not self.keys:
                break
            priority, seq = self.keys[0]
            if priority != msg.ALERT_PRIORITY:
                if self.tokens < 1.0:
                    return (1.0 - self.tokens) / self.drain_rate
                self.tokens -= 1.0
            self.keys.pop(0)
            _, topic, _, payload = self.rows.pop(seq)
            # paho keeps a QoS 1 message it could not send now and sends it on reconnecting
            info = self.client.publish(self.topic(topic), msg.wire(seq, payload), qos=1)
            self.inflight[info.mid] = seq
            self.sent += 1
        return 1.0

    def _flush_acks(self):
        if self.acks:
            self.acked += len(self.acks)
            self.last_ack = self.wall_clock()
            if not self.submit(Acked(tuple(self.acks), self.last_ack)):
                self.report("acks", logging.WARNING, "fleet link: the event logger is behind; "
                            "acknowledged messages stay in the outbox and are sent again")
            self.acks = []

    def _heartbeat(self):
        figures = dict(self.describe()) if self.describe is not None else {}
        rows, size = outbox_totals(self._reader.conn)
        figures["outbox"] = {"rows": rows, "bytes": size, "in_flight": len(self.inflight),
                             "connected": self.connected}
        self.submit(msg.heartbeat_message(self.device, self.wall_clock(), figures))

    def _finish(self):
        """Wait ``linger`` s for PUBACKs, record them, say ``offline`` and disconnect."""
        deadline = self.clock() + self.linger
        while self.inflight and self.connected and self.clock() < deadline:
            self._take(deadline - self.clock())
        self._flush_acks()
        self.submit(LinkState("stopped", self.wall_clock(), None))
        if self.connected:
            info = self.client.publish(self.topic("status"), "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(max(0.0, deadline - self.clock()) + 0.05)
            except (RuntimeError, ValueError):
                pass   # the broker went away just now: its last will says offline instead
        self.client.disconnect()
        self.client.loop_stop()

    def summary(self):
        return {"broker": str(self.url), "connected": self.connected, "sent": self.sent,
                "acked": self.acked, "connects": self.connects, "in_flight": len(self.inflight)}
