"""The serial sink: sentences parsed back by an independent NMEA parser (pynmea2), over pyserial's
``loop://`` and over a real pty pair that is unplugged and plugged back in."""

import os
import select
import threading

import pytest
import serial

from dashcam.alerts import nmea
from dashcam.alerts.records import DELIVERED, FAILED, UNAVAILABLE, Alert
from dashcam.alerts.serial_port import SerialSink, open_serial
from dashcam.alerts.sinks import EXPORT_DONE

pynmea2 = pytest.importorskip("pynmea2", reason="pynmea2 (test-only) is not installed")

T_UTC = 1700000000.25      # 22:13:20.250 UTC


def alert(alert_id=1, ttc=1.87, label="car", rule="forward-collision", severity="critical"):
    return Alert(alert_id, rule, severity, 42, label, 0.8765, (0, 0, 10, 10), ttc, 7, 0.0,
                 T_UTC, 0.0, 0.0)


def parse(line):
    """pynmea2's reading of one sentence, its checksum checked."""
    assert line.endswith(b"\r\n") and line.startswith(b"$")
    sentence = pynmea2.parse(line.decode("ascii").strip(), check=True)
    assert isinstance(sentence, pynmea2.ProprietarySentence) and sentence.manufacturer == "DCA"
    return sentence.data


def test_alert_heartbeat_and_signal_sentences_parse_back_with_their_checksums():
    assert parse(nmea.alert_sentence(alert())) == [
        "M", "ALR", "221320.250", "critical", "forward-collision", "car", "0.88", "1.9", "42"]
    assert parse(nmea.alert_sentence(alert(ttc=None, label="road_sign")))[6:] == ["0.88", "", "42"]
    assert parse(nmea.heartbeat_sentence(T_UTC, 29.97, nmea.OK)) == ["M", "HBT", "221320.250", "30.0", "OK"]
    assert parse(nmea.signal_sentence(T_UTC, EXPORT_DONE)) == ["M", "SIG", "221320.250", "export_done"]
    # a label from a label file with NMEA's reserved characters cannot break the framing
    odd = nmea.alert_sentence(alert(label="traffic light,red*"))
    assert parse(odd)[5] == "traffic light_red_"
    line = nmea.alert_sentence(alert())
    body, checksum = line[1:-5].decode(), line[-4:-2].decode()
    assert checksum == f"{nmea.checksum(body):02X}"
    corrupt = line.replace(b"0.88", b"0.89")
    with pytest.raises(pynmea2.ChecksumError):
        pynmea2.parse(corrupt.decode().strip(), check=True)


def test_the_longest_shipped_sentence_fits_nmea_length():
    longest = nmea.alert_sentence(alert(alert_id=1, ttc=12.3, label="road_sign",
                                        rule="forward-collision")._replace(track_id=999999))
    assert len(longest) <= nmea.MAX_LENGTH


class Deliveries:
    """Collects a sink's deliveries; ``wait(n)`` blocks until ``n`` have come."""

    def __init__(self):
        self.items, self.cond = [], threading.Condition()

    def __call__(self, alert, delivery):
        with self.cond:
            self.items.append(delivery)
            self.cond.notify_all()

    def wait(self, n, timeout=5.0):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.items) >= n, timeout), self.items
            return self.items[n - 1]


def test_alerts_and_heartbeats_over_loop():
    port = serial.serial_for_url("loop://", timeout=2.0)
    beats = []
    sink = SerialSink("loop://", heartbeat_interval=0.05,
                      status=lambda now: (beats.append(now) or 24.96, nmea.OK),
                      open_port=lambda url, baudrate: port)
    deliveries = Deliveries()
    sink.on_delivery = deliveries
    sink.start()
    try:
        assert sink.offer(alert())
        delivered = deliveries.wait(1)
        assert delivered.status == DELIVERED and delivered.message.startswith("$PDCAM,ALR,")
        lines = [port.read_until(b"\n") for _ in range(4)]
        kinds = [parse(line)[1] for line in lines]
        assert "ALR" in kinds and kinds.count("HBT") >= 3
        assert all(parse(line)[3:] == ["25.0", "OK"] for line in lines if parse(line)[1] == "HBT")
        sink.signal(EXPORT_DONE)
        while True:
            data = parse(port.read_until(b"\n"))
            if data[1] == "SIG":
                break
        assert data[3] == EXPORT_DONE
    finally:
        assert sink.stop(2.0)
    assert not port.is_open and sink.lines >= 5


def read_line(master, timeout=5.0):
    """One line from the master side of a pty (what the receiver would read)."""
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([master], [], [], timeout)
        assert ready, f"nothing arrived on the pty within {timeout} s"
        data += os.read(master, 1)
    return data


def plug(link):
    """A new pty pair with ``link`` pointing at its device (as udev's /dev/serial/by-id links)."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    os.close(slave)
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(path, link)
    return master


def test_a_pty_unplugged_and_plugged_back_in_is_reopened(tmp_path):
    link = str(tmp_path / "ttyDASHCAM")
    master = plug(link)
    sink = SerialSink(link, baudrate=9600, heartbeat_interval=0, reopen_interval=0.0,
                      open_port=open_serial)
    deliveries = Deliveries()
    sink.on_delivery = deliveries
    sink.start()
    try:
        sink.offer(alert(1))
        assert deliveries.wait(1).status == DELIVERED
        assert parse(read_line(master))[1:3] == ["ALR", "221320.250"]
        # unplugged: the far end goes away, and so does its device
        os.close(master)
        os.unlink(link)
        sink.offer(alert(2))
        failed = deliveries.wait(2)
        assert failed.status == FAILED and link in failed.error
        sink.offer(alert(3))
        gone = deliveries.wait(3)
        assert gone.status == UNAVAILABLE and "cannot open" in gone.error
        # plugged back in (a new pty behind the same name): the next alert gets through
        master = plug(link)
        sink.offer(alert(4))
        assert deliveries.wait(4).status == DELIVERED
        assert parse(read_line(master))[1] == "ALR" and sink.reopened == 1
    finally:
        assert sink.stop(2.0)
        os.close(master)


def test_a_port_that_is_not_there_is_unavailable_and_its_queue_never_blocks(tmp_path):
    sink = SerialSink(str(tmp_path / "ttyNONE"), heartbeat_interval=0, queue_size=2)
    assert sink.offer(alert(1)) and sink.offer(alert(2))
    assert not sink.offer(alert(3)) and sink.dropped == 1      # refused at once, counted
    deliveries = Deliveries()
    sink.on_delivery = deliveries
    sink.consume(sink.take(0))
    first = deliveries.wait(1)
    assert first.status == UNAVAILABLE and "No such file" in first.error


def test_alerts_go_before_queued_signals_and_no_flood_of_signals_drops_one():
    """Signals and camera states (from committed events: a flood on the control socket, a
    flapping camera) fill their own lane; alerts keep theirs and are written first."""
    port = serial.serial_for_url("loop://", timeout=2.0)
    sink = SerialSink("loop://", heartbeat_interval=0, queue_size=4, other_size=8,
                      open_port=lambda url, baudrate: port)
    sink.camera(True)
    offered = [sink.signal(EXPORT_DONE) for _ in range(1000)]
    assert offered.count(True) == 7 and sink.dropped_signals == 993   # their lane is full
    assert all(sink.offer(alert(n)) for n in (1, 2, 3, 4))           # and alerts still fit
    assert not sink.offer(alert(5)) and sink.dropped == 1            # in a bound of their own
    deliveries = Deliveries()
    sink.on_delivery = deliveries
    sink.start()
    try:
        assert [deliveries.wait(n).status for n in (1, 2, 3, 4)] == [DELIVERED] * 4
        kinds = [parse(port.read_until(b"\n"))[1] for _ in range(11)]
        assert kinds == ["ALR"] * 4 + ["SIG"] * 7                     # alerts first
    finally:
        assert sink.stop(2.0)
