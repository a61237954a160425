"""The board this runs on, read once from the device tree: which Jetson, or none.

Every NVIDIA developer kit names itself in the device tree's ``model``
(``NVIDIA Jetson Nano Developer Kit``; the AGX Xavier on L4T 32 says
``Jetson-AGX``, the TX2 on L4T 28 ``quill``); a carrier board's model may
name no Jetson, but its ``compatible`` list still names an ``nvidia,``
board. A PC has no device tree. What the rest of the dashcam decides from the
board is decided here: whether it is a Jetson (the CSI camera, Jetson.GPIO
for the LED), whether it can have NVENC (the Orin Nano has none), and the
precision its GPU runs by default. The composition root and the commands
read it once (``read_board``) and pass the ``Board`` to what needs it.
"""

import os
from collections import namedtuple

DEVICE_TREE = "/proc/device-tree"
THERMAL = "/sys/class/thermal"

NANO = "Nano"              # Maxwell: no fast INT8
TX = "TX1/TX2"             # Maxwell, Pascal: no fast INT8
XAVIER = "Xavier"          # NX and AGX: INT8 tensor cores
ORIN = "Orin"              # NX and AGX: INT8 tensor cores
ORIN_NANO = "Orin Nano"    # an Orin without the hardware video encoder
JETSON = "Jetson"          # an NVIDIA board of a family not named here
NOT_JETSON = "not a Jetson"
FAMILIES = (NANO, TX, XAVIER, ORIN, ORIN_NANO, JETSON, NOT_JETSON)


class Board(namedtuple("Board", "model compatible")):
    """``model``: the device tree's model text ("" without one); ``compatible``: its
    compatible strings (default none)."""

    __slots__ = ()

    @property
    def family(self):
        """One of ``FAMILIES``."""
        text = self.model.lower()
        if "orin" in text:       # before "nano": the Orin Nano is an Orin
            return ORIN_NANO if "nano" in text else ORIN
        if "xavier" in text or text == "jetson-agx":   # AGX Xavier's model on L4T 32.x
            return XAVIER
        if "nano" in text:
            return NANO
        if any(name in text for name in ("tx2", "tx1", "quill")):   # quill: TX2 on L4T 28
            return TX
        if "jetson" in text or any(c.startswith("nvidia,") for c in self.compatible):
            return JETSON
        return NOT_JETSON

    @property
    def is_jetson(self):
        """Whether this is a Jetson: its CSI camera, and Jetson.GPIO's pin factory."""
        return self.family != NOT_JETSON

    @property
    def name(self):
        """The model, or the family where there is no model text: for messages."""
        return self.model or self.family

    @property
    def has_nvenc(self):
        """Whether the board may have NVENC: not the Orin Nano, which has no hardware
        encoder; elsewhere GStreamer's ``nvv4l2h264enc`` element decides (a Jetson's, or a
        PC's GPU with DeepStream)."""
        return self.family != ORIN_NANO

    @property
    def precision(self):
        """``(precision, reason)`` the board's GPU runs by default.

        Orin and Xavier: INT8 (their GPUs and DLAs have INT8 tensor cores;
        the engine falls back to FP16 until a calibration cache exists);
        Nano, TX1, TX2 (Maxwell and Pascal, no fast INT8): FP16; anything
        else (a PC's GPU): FP16, as INT8 needs a calibration cache.
        """
        family = self.family
        if family in (ORIN, ORIN_NANO):
            return "int8", "Orin: INT8"
        if family == XAVIER:
            return "int8", "Xavier: INT8"
        if family in (NANO, TX):
            return "fp16", f"{self.model}: FP16 (no fast INT8 on its GPU)"
        return "fp16", "{}: FP16".format(self.model or NOT_JETSON)


Board.__new__.__defaults__ = ((),)


def read_board(device_tree=DEVICE_TREE):
    """This machine's ``Board``, from ``device_tree``'s ``model`` and ``compatible``."""
    model = _read(os.path.join(device_tree, "model"))
    compatible = _read(os.path.join(device_tree, "compatible"))
    return Board(model.strip("\0\n "), tuple(c for c in compatible.split("\0") if c))


def _read(path):
    """The text of a device tree file (NUL-terminated strings), or "" when there is none."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def read_temperatures(thermal=THERMAL):
    """``{zone type: degrees Celsius}`` of the thermal zones the kernel reports (a Jetson's
    ``CPU-therm``, ``GPU-therm``, ...); empty where there are none (a container, a VM)."""
    found = {}
    try:
        zones = sorted(n for n in os.listdir(thermal) if n.startswith("thermal_zone"))
    except OSError:
        return found
    for zone in zones:
        kind = _read(os.path.join(thermal, zone, "type")).strip() or zone
        text = _read(os.path.join(thermal, zone, "temp")).strip()
        if text.lstrip("-").isdigit():
            found[kind] = round(int(text) / 1000.0, 1)   # millidegrees
    return found
