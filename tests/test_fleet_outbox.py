"""The outbox's decisions and its rows in a real store file, without a broker; ``[mqtt]``'s
values and mistakes; the paho 1.x/2.x shapes the link accepts."""

import json

import pytest

from dashcam import events as ev
from dashcam.board import read_temperatures
from dashcam.config.mqtt import BrokerUrl, EventTypes, Mqtt, device_name, topic_prefix
from dashcam.errors import ConfigError
from dashcam.fleet import build_fleet
from dashcam.fleet import messages as msg
from dashcam.fleet.client import disconnect_code, failed
from dashcam.fleet.outbox import Acked, GapDue, LinkState, OutboxIndex, choose_drops, merge_ranges
from dashcam.store import EventStore, StoreReader
from dashcam.store.outbox import pending_messages
from test_pipeline import make_config


def test_choose_drops_takes_candidates_in_order_until_both_bounds_hold():
    candidates = [(5, 1, 100), (6, 1, 100), (7, 1, 100), (1, 0, 100)]
    assert choose_drops(4, 400, iter(candidates), 4, 400) == []
    assert [c[0] for c in choose_drops(5, 500, iter(candidates), 3, 1000)] == [5, 6]
    assert [c[0] for c in choose_drops(4, 400, iter(candidates), 10, 150)] == [5, 6, 7]


def test_merge_ranges_joins_neighbours_and_stays_within_its_limit():
    assert merge_ranges([], [3, 4, 5, 9]) == [[3, 5], [9, 9]]
    assert merge_ranges([[3, 5]], [6, 1]) == [[1, 1], [3, 6]]
    assert merge_ranges([[1, 1], [3, 3], [10, 10]], [], limit=2) == [[1, 3], [10, 10]]


@pytest.mark.parametrize("text, url", [
    ("mqtt://broker.local", BrokerUrl(False, "broker.local", 1883)),
    ("mqtts://10.0.0.2:8884/", BrokerUrl(True, "10.0.0.2", 8884)),
    ("MQTTS://[::1]:8883", BrokerUrl(True, "::1", 8883)),
    ("", None),
])
def test_broker_urls(text, url):
    assert BrokerUrl.parse(text) == url


@pytest.mark.parametrize("text", ["http://x", "mqtt://", "mqtt://host:0", "mqtt://h:99999",
                                  "mqtt://h/path", "broker:1883"])
def test_broker_urls_refused(text):
    with pytest.raises(ValueError):
        BrokerUrl.parse(text)


def test_the_mqtt_section_reads_back_and_names_bad_values(tmp_path):
    config = make_config(tmp_path, mqtt={"enabled": "true", "url": "mqtts://fleet.example",
                                         "device-id": "van-3", "events": "alert, camera_lost",
                                         "outbox-max-bytes": "2M"})
    section = config.mqtt
    assert section.outbox_max_bytes == 2 << 20 and "alert" in section.events
    assert "object_appeared" not in section.events and "object_left" in EventTypes(("*",))
    assert topic_prefix(section) == "dashcam/van-3" and device_name(section) == "van-3"
    (tmp_path / "again").mkdir()
    again = tmp_path / "again" / "dashcam.ini"
    again.write_text(config.to_ini())
    from dashcam.config.loader import load_config
    assert load_config(str(again)).mqtt == section
    for key, value in (("url", "http://x"), ("events", "alerts"), ("device-id", "a/b"),
                       ("outbox-max-bytes", "50%")):
        with pytest.raises(ConfigError, match=r"\[mqtt\] " + key):
            make_config(tmp_path, mqtt={key: value})


def test_an_enabled_link_without_url_or_with_an_unreadable_password_is_refused(tmp_path):
    with EventStore(str(tmp_path / "a.db")) as store:
        with pytest.raises(ConfigError, match="needs url"):
            build_fleet(Mqtt(enabled=True), store, None, None, dict, int)
        with pytest.raises(ConfigError, match="password-file = /nonexistent"):
            build_fleet(Mqtt(enabled=True, url="mqtt://h", username="u",
                             password_file="/nonexistent"), store, None, None, dict, int)
        assert build_fleet(Mqtt(), store, None, None, dict, int) is None


def test_paho_1_and_2_callback_shapes():
    from paho.mqtt import reasoncodes
    from paho.mqtt.packettypes import PacketTypes

    ReasonCode = getattr(reasoncodes, "ReasonCode", None) or reasoncodes.ReasonCodes   # 1.x

    assert failed(0) is False and failed(5) is True
    assert failed(ReasonCode(PacketTypes.CONNACK, "Success")) is False
    assert failed(ReasonCode(PacketTypes.CONNACK, "Not authorized")) is True
    assert disconnect_code((7,)) == 7 and disconnect_code(({}, 16, None)) == 16


def test_temperatures_from_the_thermal_zones(tmp_path):
    for n, (kind, millideg) in enumerate((("CPU-therm", "41500"), ("GPU-therm", "39000"),
                                          ("broken", "n/a"))):
        zone = tmp_path / f"thermal_zone{n}"
        zone.mkdir()
        (zone / "type").write_text(kind + "\n")
        (zone / "temp").write_text(millideg + "\n")
    assert read_temperatures(str(tmp_path)) == {"CPU-therm": 41.5, "GPU-therm": 39.0}
    assert read_temperatures(str(tmp_path / "none")) == {}


class Listener:
    def __init__(self):
        self.added, self.dropped = [], []

    def __call__(self, added, dropped):
        self.added += added
        self.dropped += dropped


def write(store, records):
    store.write(1, records)


def test_rows_are_bounded_by_priority_and_acks_delete_them(tmp_path):
    """Heartbeats supersede each other, the bound drops events first, never alerts while
    others are left; acknowledged rows go; a gap row reports what was dropped, once."""
    db = str(tmp_path / "dashcam.db")
    with EventStore(db) as store:
        store.begin_run(0.0, "test")
        index = OutboxIndex("d1", 6, 10 ** 6, EventTypes(("*",))).register(store)
        heard = Listener()
        index.listeners.append(heard)
        write(store, [msg.heartbeat_message("d1", 1.0, {"fps": 1}),
                      msg.heartbeat_message("d1", 2.0, {"fps": 2})])
        for t in range(5):
            write(store, [ev.Event(ev.CAMERA_LOST, t, t, None, None, ev.WARNING, {})])
        write(store, [msg.outgoing(msg.ALERTS, msg.ALERT_PRIORITY, {"id": "a"}, 9.0)])
        with StoreReader(db) as reader:
            rows = pending_messages(reader.conn)
            summary = reader.outbox_summary()
        assert [(r[2], r[1]) for r in rows][:2] == [(0, "alerts"), (1, "events")]
        assert summary["rows"] == 6 and summary["by_priority"] == {0: 1, 1: 4, 2: 1}
        assert summary["dropped"]["counts"] == {"1": 1, "2": 1}
        assert heard.dropped == [1, 3]   # the first heartbeat, then the oldest event
        assert [a[0] for a in heard.added] == list(range(1, 9))
        write(store, [Acked((8, 4), 12.0), LinkState("connected", 12.0, "mqtt://h:1883")])
        write(store, [GapDue(13.0)])
        write(store, [GapDue(14.0)])   # nothing dropped since: no second gap
        with StoreReader(db) as reader:
            summary = reader.outbox_summary()
            rows = pending_messages(reader.conn, exclude=[9])
        assert summary["last_ack"] == "1970-01-01T00:00:12.000Z"
        assert summary["link"]["state"] == "connected" and summary["dropped"] is None
        assert summary["last_seq"] == 9 and 9 not in [r[0] for r in rows]
        gap = json.loads(heard.added[-1][3])
        assert gap["type"] == "gap" and gap["seqs"] == [[1, 1], [3, 3]]
        assert gap["dropped"] == {"alerts": 0, "events": 1, "heartbeats": 1}


def test_a_store_older_than_the_outbox_has_no_summary(tmp_path):
    from dashcam.store import migrate
    from dashcam.store.schema import connect

    db = str(tmp_path / "old.db")
    conn = connect(db)
    migrate(conn, 5)
    conn.close()
    with StoreReader(db) as reader:
        assert reader.outbox_summary() is None
