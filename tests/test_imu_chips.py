"""The I2C accelerometer drivers against a STAND-IN bus (tests/imu_bus.py: each chip's
register map written from its datasheet; no I2C bus exists here), and the IMU worker
carrying on when the chip vanishes mid-run."""

import logging
import re
import threading

import pytest

from dashcam.errors import DashcamError
from dashcam.imu import ImuWorker, MotionDetector, Thresholds, open_imu_source
from dashcam.imu.sources import parse_i2c
from dashcam.senses import SensorError
from imu_bus import Adxl345Map, FakeBus, Lis3dhMap, Mpu6050Map

CHIPS = {"mpu6050": (Mpu6050Map, 0x68), "adxl345": (Adxl345Map, 0x53),
         "lis3dh": (Lis3dhMap, 0x18)}
# the coarsest step of each chip and range, g: MPU 16 bits, ADXL 3.9 mg, LIS3DH 12 mg at 16 g
STEP = {2: 0.004, 4: 0.004, 8: 0.004, 16: 0.0125}


def open_on(bus, url, rate=100, full_scale=8):
    return open_imu_source(url, rate, full_scale, open_bus=lambda number: bus)


@pytest.mark.parametrize("chip", sorted(CHIPS))
@pytest.mark.parametrize("full_scale", [2, 4, 8, 16])
def test_each_chip_reads_what_it_feels_in_g_at_every_range(chip, full_scale):
    registers, address = CHIPS[chip]
    device = registers()
    bus = FakeBus({address: device})
    source = open_on(bus, f"i2c://1/0x{address:02x}?chip={chip}", full_scale=full_scale)
    for accel in [(0.0, 0.0, 1.0), (0.5, -0.25, 1.0), (-1.5, 1.75, -0.3)]:
        device.accel = accel
        (sample,) = source.read(0.01)
        assert sample.ax == pytest.approx(accel[0], abs=STEP[full_scale])
        assert sample.ay == pytest.approx(accel[1], abs=STEP[full_scale])
        assert sample.az == pytest.approx(accel[2], abs=STEP[full_scale])
    source.close()
    assert bus.closed


def test_the_chips_are_set_to_the_asked_rate():
    writes = {}
    for chip, (registers, address) in CHIPS.items():
        bus = FakeBus({address: registers()})
        open_on(bus, f"i2c://1/0x{address:02x}?chip={chip}", rate=200).close()
        writes[chip] = {register: value for _, register, value in bus.writes}
    assert writes["mpu6050"][0x19] == 4         # 1 kHz / (1 + 4) = 200 Hz
    assert writes["mpu6050"][0x6B] == 0x01      # awake, on the gyro's PLL
    assert writes["adxl345"][0x2C] == 0x0B      # 200 Hz
    assert writes["adxl345"][0x2D] == 0x08      # measuring, set last
    assert writes["lis3dh"][0x20] >> 4 == 0b0110   # 200 Hz


def test_the_usual_address_is_taken_when_the_url_has_none():
    assert parse_i2c("i2c://1?chip=lis3dh") == (1, 0x18, "lis3dh")
    assert parse_i2c("i2c://7/0x69?chip=mpu6050") == (7, 0x69, "mpu6050")


@pytest.mark.parametrize("url, says", [
    ("i2c://1/0x68?chip=mpu9250", "chip= must be one of adxl345, lis3dh, mpu6050"),
    ("i2c://one/0x68?chip=mpu6050", "expected i2c://BUS/ADDR?chip=mpu6050"),
    ("i2c://1/0x80?chip=mpu6050", "not a 7-bit I2C device address"),
])
def test_a_wrong_url_says_what_is_wrong(url, says):
    with pytest.raises(DashcamError, match=re.escape(says)):
        parse_i2c(url)


def test_another_chip_at_the_address_is_named_by_its_identity_register():
    bus = FakeBus({0x53: Mpu6050Map()})   # an MPU-6050 where an ADXL345 was configured
    with pytest.raises(SensorError, match=r"register 0x00 reads 0x00, not adxl345's 0xE5; "
                                          r"is chip= the breakout's chip\?"):
        open_on(bus, "i2c://1/0x53?chip=adxl345")
    assert bus.closed


def test_no_device_and_no_bus_are_sensor_errors_with_the_fix():
    with pytest.raises(SensorError, match=r"no answer from the mpu6050 at 0x68 on /dev/i2c-1 "
                                          r".*i2cdetect -y 1"):
        open_on(FakeBus({}), "i2c://1/0x68?chip=mpu6050")

    def no_bus(number):
        raise FileNotFoundError(2, "No such file or directory")

    with pytest.raises(SensorError, match=r"no I2C bus /dev/i2c-3 .*group i2c"):
        open_imu_source("i2c://3/0x68?chip=mpu6050", open_bus=no_bus)


def test_a_chip_that_vanishes_mid_run_is_reported_reopened_and_the_run_goes_on(caplog):
    device = Mpu6050Map()
    bus = FakeBus({0x68: device})
    events = []
    detector = MotionDetector(Thresholds(1.2, 0.01, 0.45, 0.4, 0.45, 0.3, 0.05))
    opened = threading.Semaphore(0)

    def opener():
        source = open_on(bus, "i2c://1/0x68?chip=mpu6050")
        opened.release()
        return source

    worker = ImuWorker("i2c://1/0x68?chip=mpu6050", opener, detector, events.append,
                       rate=400, reopen_min=0.01, reopen_max=0.02)
    with caplog.at_level(logging.WARNING):
        worker.start()
        try:
            assert opened.acquire(timeout=10) and bus.wait_reads(20)
            bus.unplug()      # the breakout's cable pulled: every transfer is NACKed
            while worker.lost == 0:
                assert not worker.done.wait(0.01), worker.error_line
            reads = bus.reads
            bus.plug()        # back, at its power-on state (asleep): it must be set up again
            assert opened.acquire(timeout=10) and bus.wait_reads(reads + 20)
        finally:
            assert worker.stop(2.0)
    assert worker.error is None and worker.lost == 1 and worker.reopened == 1
    assert worker.samples >= 40
    assert "IMU i2c://1/0x68?chip=mpu6050 is gone: the mpu6050 at 0x68 on /dev/i2c-1 stopped " \
           "answering ([Errno 121] Remote I/O error); reopening it" in caplog.text
    assert "is back after" in caplog.text
    # set up anew after the replug: the samples after it read 1 g again, not a sleeping 0
    assert detector.mounting.gravity[2] == pytest.approx(1.0, abs=0.01)
    assert events == []


def test_a_chip_absent_at_the_start_is_said_once_and_read_once_it_answers(caplog):
    device = Mpu6050Map()
    bus = FakeBus({0x68: device})
    bus.present = False            # not plugged in yet: every try is NACKed
    tries = threading.Semaphore(0)

    def opener():
        tries.release()
        return open_on(bus, "i2c://1/0x68?chip=mpu6050")

    detector = MotionDetector(Thresholds(1.2, 0.01, 0.45, 0.4, 0.45, 0.3, 0.05))
    worker = ImuWorker("i2c://1/0x68?chip=mpu6050", opener, detector, [].append, rate=400,
                       reopen_min=0.01, reopen_max=0.02)
    with caplog.at_level(logging.WARNING):
        worker.start()
        try:
            for _ in range(4):
                assert tries.acquire(timeout=10)
            assert not worker.still()   # no samples: nothing is known of the vehicle
            bus.plug()
            assert bus.wait_reads(10)
        finally:
            assert worker.stop(2.0)
    assert caplog.text.count("no answer from the mpu6050 at 0x68") == 1
    assert worker.error is None and worker.lost == 0 and worker.samples >= 10
