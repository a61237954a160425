"""``dashcam service install`` and the fleet link: the network drop-in exactly when the
configuration talks to a broker (``[mqtt] url``) or an upload endpoint, checked by
``systemd-analyze`` on what it wrote, as the other service tests do."""

import os

import pytest

from dashcam.cli import main
from dashcam.config import load_config
from dashcam.service.install import drop_ins, needs_network
from test_service_install import analyze, exposure, needs_systemd, staged

MQTT = "[mqtt]\nurl = mqtt://broker.fleet.example:1883\n"
UPLOAD = "[upload]\nendpoint = https://fleet.example/presign\n"


def has_mqtt_section(tmp_path):
    """Whether this build knows ``[mqtt]`` (the fleet link's config/mqtt.py)."""
    return "mqtt" in load_config(write(tmp_path, "probe.ini", MQTT)).sections


def write(folder, name, text):
    path = os.path.join(str(folder), name)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def test_the_network_drop_in_follows_the_fleet_settings(tmp_path):
    assert drop_ins("/usr/local/bin/dashcam", "csi://0", fleet=True) == drop_ins(
        "/usr/local/bin/dashcam", "rtsp://10.0.0.9/live")
    assert drop_ins("/usr/local/bin/dashcam", "csi://0", fleet=False) == {}
    assert not needs_network(load_config(write(tmp_path, "plain.ini", "[source]\nuri = csi://0\n")))
    assert needs_network(load_config(write(tmp_path, "upload.ini", UPLOAD)))
    if has_mqtt_section(tmp_path):
        assert needs_network(load_config(write(tmp_path, "mqtt.ini", MQTT)))


@needs_systemd
@pytest.mark.parametrize("section", ["mqtt", "upload"])
def test_install_opens_the_network_only_while_the_fleet_is_configured(tmp_path, capsys, section):
    if section == "mqtt" and not has_mqtt_section(tmp_path):
        pytest.skip("[mqtt] (config/mqtt.py, the fleet link's client) is not in this build")
    root = tmp_path / "root"
    config = staged(root, "etc", "dashcam", "dashcam.ini")
    os.makedirs(os.path.dirname(config))
    write(os.path.dirname(config), "dashcam.ini", "[source]\nuri = csi://0\n" +
          (MQTT if section == "mqtt" else UPLOAD))
    units = staged(root, "etc", "systemd", "system")
    assert main(["service", "install", "--root", str(root)]) == 0
    assert "installed  /dashcam.service.d/50-network.conf" in capsys.readouterr().out
    with open(os.path.join(units, "dashcam.service.d", "50-network.conf")) as handle:
        assert "PrivateNetwork=no\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n" in \
            handle.read()
    assert analyze("verify", os.path.join(units, "dashcam.service")) == (0, "")
    opened = exposure(os.path.join(units, "dashcam.service"))
    assert opened <= 3.0

    write(os.path.dirname(config), "dashcam.ini", "[source]\nuri = csi://0\n")   # fleet off
    assert main(["service", "install", "--root", str(root)]) == 0
    assert "removed    /dashcam.service.d/50-network.conf" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(units, "dashcam.service.d", "50-network.conf"))
    assert exposure(os.path.join(units, "dashcam.service")) < opened   # closed again
