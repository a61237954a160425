"""A real Mosquitto broker for tests, and a subscriber that records what it receives.

Each ``Broker`` runs ``mosquitto`` on a free localhost port with a generated
configuration (anonymous clients, persistence in the test's folder, so a
subscriber's session and its queued QoS 1 messages survive ``restart``).
``broker`` is the pytest fixture (skipped, with the reason, where Mosquitto is
not installed); ``Collector`` subscribes to a topic filter with a persistent
session and lets a test wait for what it expects. Other fleet tests reuse both.
"""

import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time

import pytest

from dashcam.fleet.client import new_client

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    """A free localhost port below the kernel's ephemeral range: a port from that range may
    be handed to an outgoing connection (another process's, or a client retrying this very
    port) while a test has the broker stopped, and the broker could not listen there again."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            low = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    chooser = random.Random()
    while True:
        port = chooser.randrange(10000, max(10001, low))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Broker:
    """``mosquitto`` on ``127.0.0.1:port`` (a free one by default), files in ``folder``."""

    def __init__(self, folder, port=None, extra=()):
        self.folder, self.port = str(folder), port or free_port()
        self.config = os.path.join(self.folder, "mosquitto.conf")
        with open(self.config, "w") as handle:
            handle.write("\n".join([
                f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                "persistence true", f"persistence_location {self.folder}/",
                "max_queued_messages 100000", "log_dest stderr", "log_type error"]
                + list(extra)) + "\n")
        self.process = None

    @property
    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout=10.0):
        self.log = open(os.path.join(self.folder, "mosquitto.log"), "ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", self.config], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:   # ready once it accepts connections (or it died: say why)
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)   # a readiness poll: there is no event to wait on

    def stop(self):
        """Stop it (SIGTERM: Mosquitto saves its sessions, as on an orderly restart)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        self.log.close()

    def restart(self):
        self.stop()
        return self.start()


@pytest.fixture(name="broker")
def broker_fixture(tmp_path):
    if not os.access(MOSQUITTO, os.X_OK):
        pytest.skip(f"Mosquitto is not installed ({MOSQUITTO}): apt-get install mosquitto")
    folder = tmp_path / "broker"
    folder.mkdir()
    running = Broker(folder).start()
    yield running
    running.stop()


def paho_client(client_id, clean_session=True):
    """A paho client of whichever major version is installed (the link's own constructor)."""
    return new_client(client_id, clean_session)


class Collector:
    """Subscribes to ``topics`` (QoS 1, a persistent session) on ``broker`` and records each
    message as ``(topic, payload bytes, retained)``, in arrival order."""

    def __init__(self, broker, topics="#", client_id="collector"):
        self.messages = []
        self.changed = threading.Condition()
        self.connected = threading.Event()
        self.client = paho_client(client_id, clean_session=False)
        self.topics = topics
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0, 1)   # back at once after a broker restart
        self.client.connect("127.0.0.1", broker.port, 30)
        self.client.loop_start()
        assert self.connected.wait(10), "the collector could not connect"

    def _on_connect(self, client, userdata, flags, code, *rest):
        client.subscribe(self.topics, qos=1)
        self.connected.set()

    def _on_message(self, client, userdata, message):
        with self.changed:
            self.messages.append((message.topic, message.payload, message.retain))
            self.changed.notify_all()

    def wait_for(self, predicate, timeout=30.0):
        """Wait until ``predicate(messages)`` holds; the messages (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                assert left > 0, "timed out; got {} messages: {}".format(
                    len(self.messages), [m[0] for m in self.messages[-10:]])
                self.changed.wait(left)
            return list(self.messages)

    def json(self, suffix):
        """The JSON payloads received on topics ending in ``suffix``, in arrival order."""
        with self.changed:
            return [json.loads(p) for t, p, _ in self.messages if t.endswith(suffix)]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
