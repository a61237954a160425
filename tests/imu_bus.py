"""A STAND-IN for an I2C bus with accelerometer breakouts on it (no I2C bus exists here).

``FakeBus`` answers smbus2's ``SMBus`` calls that the drivers use (``read_byte_data``,
``write_byte_data``, ``read_i2c_block_data``, ``close``) from register maps written from
each chip's datasheet, independently of ``dashcam.imu.chips``: identity registers, power-on
values, what the control registers select (sleep/standby/power-down, full scale,
resolution) and how the output registers encode an acceleration (byte order, left
justification, LIS3DH's auto-increment bit). ``accel`` is what the chip feels, in g.
``unplug()`` makes every transfer fail as a missing device does (``OSError`` errno 121,
EREMOTEIO: no ACK), ``plug()`` brings it back at its power-on state.
"""

import errno
import threading


def _int16(value):
    value = max(-32768, min(32767, int(round(value))))
    return value & 0xFFFF


class Registers:
    """256 registers with power-on values; a block read walks the addresses (``step``)."""

    power_on = {}

    def __init__(self):
        self.reset()
        self.accel = (0.0, 0.0, 1.0)

    def reset(self):
        self.regs = [0] * 256
        for register, value in self.power_on.items():
            self.regs[register] = value

    def write(self, register, value):
        self.regs[register] = value & 0xFF

    def read(self, register):
        self.refresh()
        return self.regs[register]

    def block(self, register, length):
        self.refresh()
        return [self.regs[(register + i) & 0xFF] for i in range(length)]

    def refresh(self):
        """Put ``accel`` into the output registers as the chip's settings encode it."""


class Mpu6050Map(Registers):
    """MPU-6050 register map rev. 4.2: WHO_AM_I 0x75 = 0x68, PWR_MGMT_1 0x6B powers on at
    0x40 (asleep: no new data), ACCEL_CONFIG 0x1C AFS_SEL bits 4:3 -> 16384 >> AFS_SEL
    LSB/g, ACCEL_XOUT_H 0x3B.. big-endian; block reads auto-increment."""

    power_on = {0x75: 0x68, 0x6B: 0x40}

    def refresh(self):
        if self.regs[0x6B] & 0x40:
            return
        lsb = 16384 >> ((self.regs[0x1C] >> 3) & 3)
        for i, g in enumerate(self.accel):
            raw = _int16(g * lsb)
            self.regs[0x3B + 2 * i], self.regs[0x3C + 2 * i] = raw >> 8, raw & 0xFF


class Adxl345Map(Registers):
    """ADXL345 rev. G: DEVID 0x00 = 0xE5; POWER_CTL 0x2D Measure bit 3 (standby at power
    on: no data); DATA_FORMAT 0x31 range bits 1:0, FULL_RES bit 3 (256 LSB/g, 10 + range
    bits), else 10 bits over the range; DATAX0 0x32.. little-endian."""

    power_on = {0x00: 0xE5, 0x2C: 0x0A}

    def refresh(self):
        if not self.regs[0x2D] & 0x08:
            return
        fmt = self.regs[0x31]
        g_range = 2 << (fmt & 3)
        lsb, bits = (256.0, 10 + (fmt & 3)) if fmt & 0x08 else (512.0 / g_range, 10)
        top = (1 << (bits - 1)) - 1
        for i, g in enumerate(self.accel):
            raw = _int16(max(-top - 1, min(top, round(g * lsb))))
            self.regs[0x32 + 2 * i], self.regs[0x33 + 2 * i] = raw & 0xFF, raw >> 8


class Lis3dhMap(Registers):
    """LIS3DH DocID17530: WHO_AM_I 0x0F = 0x33; CTRL_REG1 0x20 powers on at 0x07 (ODR 0000:
    power-down); CTRL_REG4 0x23 FS bits 5:4, HR bit 3: 12-bit left-justified at
    1/2/4/12 mg per digit, else 10-bit (4x those); OUT_X_L 0x28.. little-endian. A
    multi-byte read increments the address only with the sub-address MSB (0x80) set."""

    power_on = {0x0F: 0x33, 0x20: 0x07}
    MG = (1.0, 2.0, 4.0, 12.0)

    def block(self, register, length):
        if not register & 0x80:   # no auto-increment: the same register again and again
            return [self.read(register)] * length
        return Registers.block(self, register & 0x7F, length)

    def read(self, register):
        return Registers.read(self, register & 0x7F)

    def refresh(self):
        if not self.regs[0x20] >> 4:
            return
        fs, high_res = (self.regs[0x23] >> 4) & 3, self.regs[0x23] & 0x08
        mg, shift = (self.MG[fs], 4) if high_res else (self.MG[fs] * 4, 6)
        top = (1 << (15 - shift)) - 1
        for i, g in enumerate(self.accel):
            digits = max(-top - 1, min(top, round(g * 1000.0 / mg)))
            raw = _int16(digits * (1 << shift))
            self.regs[0x28 + 2 * i], self.regs[0x29 + 2 * i] = raw & 0xFF, raw >> 8


class FakeBus:
    """The stand-in ``SMBus``: ``devices`` by 7-bit address. Counts ``reads`` (block reads
    of a present device), which a test can ``wait_reads`` for."""

    def __init__(self, devices):
        self.devices = devices
        self.present = True
        self.closed = False
        self.reads = 0
        self.writes = []
        self._changed = threading.Condition()

    def _device(self, address):
        if not self.present or address not in self.devices:
            raise OSError(errno.EREMOTEIO, "Remote I/O error")
        return self.devices[address]

    def read_byte_data(self, address, register):
        return self._device(address).read(register)

    def write_byte_data(self, address, register, value):
        self._device(address).write(register, value)
        self.writes.append((address, register, value))

    def read_i2c_block_data(self, address, register, length):
        data = self._device(address).block(register, length)
        with self._changed:
            self.reads += 1
            self._changed.notify_all()
        return data

    def wait_reads(self, count, timeout=10.0):
        with self._changed:
            return self._changed.wait_for(lambda: self.reads >= count, timeout)

    def unplug(self):
        self.present = False

    def plug(self):
        for device in self.devices.values():
            device.reset()
        self.present = True

    def close(self):
        self.closed = True
