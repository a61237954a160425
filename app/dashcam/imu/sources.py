"""Where the IMU's samples come from, by URL: an accelerometer on I2C, or a recorded trace.

::

    i2c://BUS/ADDR?chip=mpu6050|adxl345|lis3dh   /dev/i2c-BUS, 7-bit address (0x68; the
                                                 chip's usual one when left out), through smbus2
    csv://PATH                                   a trace with a header t,ax,ay,az (seconds
                                                 from its start, g), replayed in real time

Each source follows ``dashcam.senses``: ``read(timeout)`` returns a list of ``Sample`` (its
``t`` on the run's monotonic clock), ``close()``, and ``SensorError`` when the device is
gone (an I2C chip that stops answering: smbus2's ``OSError``), so the worker reopens it.
"""

import csv
import time
from urllib.parse import parse_qs, urlsplit

from dashcam.errors import DashcamError
from dashcam.imu.chips import CHIPS, RANGES, RATES
from dashcam.senses import Sample, SensorError

SCHEMES = ("i2c", "csv", "synthetic")
COLUMNS = ["t", "ax", "ay", "az"]


def parse_i2c(url):
    """``(bus, address, chip name)`` of an ``i2c://`` URL; DashcamError saying what is wrong."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    chip = (query.get("chip") or [""])[0].lower()
    if chip not in CHIPS:
        raise DashcamError("[imu] source {}: chip= must be one of {} (the breakout's "
                           "accelerometer)".format(url, ", ".join(sorted(CHIPS))))
    address = parts.path.strip("/")
    try:
        bus = int(parts.netloc)
        address = int(address, 0) if address else CHIPS[chip].address
    except ValueError:
        raise DashcamError(f"[imu] source {url}: expected i2c://BUS/ADDR?chip={chip}, e.g. "
                           f"i2c://1/0x{CHIPS[chip].address:02x}?chip={chip} (BUS: the N "
                           "of /dev/i2c-N, ADDR: the 7-bit address `i2cdetect -y N` shows)")
    if not 0x03 <= address <= 0x77:
        raise DashcamError(f"[imu] source {url}: address 0x{address:x} is not a 7-bit I2C "
                           "device address (0x03..0x77)")
    return bus, address, chip


def check_imu_source(url):
    """What can be found wrong in ``url`` before anything runs (the scheme, the chip, the
    address, a trace that is missing or malformed); the device itself may come later."""
    scheme = urlsplit(url).scheme
    if scheme == "i2c":
        parse_i2c(url)
    elif scheme == "csv":
        read_trace(csv_path(url))
    elif scheme == "synthetic":
        from dashcam.synthetic.world import parse_uri

        parse_uri(url)
    else:
        raise DashcamError("[imu] source {}: unknown scheme; use one of {}://..., or none".format(
            url, "://, ".join(SCHEMES)))


def open_imu_source(url, rate=100, full_scale=8, clock=time.monotonic, open_bus=None):
    """The source at ``url``, sampled at ``rate`` Hz (``chips.RATES``) over +-``full_scale``
    g (``chips.RANGES``); ``open_bus(n)`` opens I2C bus ``n`` (smbus2's ``SMBus`` unless
    given). SensorError when the device is not there (yet)."""
    scheme = urlsplit(url).scheme
    if scheme == "i2c":
        bus, address, chip = parse_i2c(url)
        return I2cSource(bus, address, CHIPS[chip](), rate, full_scale, open_bus, clock)
    if scheme == "csv":
        return TraceSource(csv_path(url), clock)
    if scheme == "synthetic":
        from dashcam.synthetic.senses import open_sense

        return open_sense("imu", url, clock)
    check_imu_source(url)   # raises, naming the schemes


class I2cSource:
    """One chip on one bus: identified, set up, then one reading per ``read``. The worker
    paces the reads; one takes about 0.2 ms at 400 kHz (7 bytes each way)."""

    def __init__(self, bus, address, chip, rate, full_scale, open_bus=None, clock=time.monotonic):
        if rate not in RATES or full_scale not in RANGES:
            raise DashcamError(f"[imu] rate {rate} Hz, range {full_scale} g: the chips offer "
                               f"rates {RATES} and ranges {RANGES}")
        self.where = f"{chip.name} at 0x{address:02x} on /dev/i2c-{bus}"
        self.chip, self.address, self.clock = chip, address, clock
        if open_bus is None:
            open_bus = _smbus
        try:
            self.bus = open_bus(bus)
        except OSError as error:
            raise SensorError(f"no I2C bus /dev/i2c-{bus} ({error}): enable it (jetson-io "
                              "on a Jetson) and add the user to group i2c")
        try:
            chip.identify(self.bus, address)
            chip.setup(self.bus, address, rate, full_scale)
        except OSError as error:
            self.close()
            raise SensorError(f"no answer from the {self.where} ({error}): check the wiring "
                              "and the address (`i2cdetect -y {}`)".format(bus))
        except ValueError as error:
            self.close()
            raise SensorError(f"{self.where}: {error}; is chip= the breakout's chip?")

    def read(self, timeout):
        try:
            ax, ay, az = self.chip.read(self.bus, self.address)
        except OSError as error:
            self.close()
            raise SensorError(f"the {self.where} stopped answering ({error})")
        return [Sample(self.clock(), ax, ay, az)]

    def close(self):
        bus, self.bus = self.bus, None
        if bus is not None:
            bus.close()


def _smbus(number):
    try:
        from smbus2 import SMBus
    except ImportError:
        raise SensorError("smbus2 is not installed: pip install smbus2")
    return SMBus(number)


def csv_path(url):
    parts = urlsplit(url)
    return parts.netloc + parts.path


def read_trace(path):
    """The rows of a trace file as ``(t, ax, ay, az)`` floats in time order; DashcamError
    naming the file and line of anything else."""
    try:
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if header != COLUMNS:
                raise DashcamError("{}: the first line must be {} (seconds, then g)".format(
                    path, ",".join(COLUMNS)))
            rows = []
            for line, row in enumerate(reader, 2):
                if not row:
                    continue
                try:
                    values = tuple(float(v) for v in row)
                except ValueError:
                    values = ()
                if len(values) != 4 or (rows and values[0] < rows[-1][0]):
                    raise DashcamError(f"{path} line {line}: expected four numbers t,ax,ay,az "
                                       "with t not going back")
                rows.append(values)
    except OSError as error:
        raise DashcamError(f"[imu] source: cannot read the trace {path} ({error.strerror})")
    return rows


class TraceSource:
    """A recorded trace replayed in real time from when it is opened: ``read`` returns the
    rows whose time has come, stamped on ``clock``. At its end it gives nothing more."""

    def __init__(self, path, clock=time.monotonic):
        self.rows = read_trace(path)
        self.clock = clock
        self.start = clock()
        self.next = 0

    @property
    def ended(self):
        return self.next >= len(self.rows)

    def read(self, timeout):
        now = self.clock() - self.start
        first = self.next
        while self.next < len(self.rows) and self.rows[self.next][0] <= now:
            self.next += 1
        return [Sample(self.start + t, ax, ay, az) for t, ax, ay, az in self.rows[first:self.next]]

    def close(self):
        self.next = len(self.rows)
