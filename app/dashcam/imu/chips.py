"""The three common accelerometer breakouts, register by register from their datasheets.

Each chip is checked by its identity register, set to a sample rate and a full-scale range,
and read as three signed axes in one block read, scaled to g. Sources (datasheet sections):

- InvenSense MPU-6000/MPU-6050 Register Map and Descriptions, rev. 4.2: WHO_AM_I 0x75 reads
  0x68 (4.32); PWR_MGMT_1 0x6B resets to 0x40 (SLEEP), 0x01 wakes it on the X gyro's PLL
  (4.28); SMPLRT_DIV 0x19, rate = 1 kHz / (1 + div) with the DLPF on (4.2); CONFIG 0x1A
  DLPF_CFG 1/2/3: accel bandwidth 184/94/44 Hz (4.3); ACCEL_CONFIG 0x1C AFS_SEL in bits 4:3,
  16384/8192/4096/2048 LSB/g for +-2/4/8/16 g (4.5, 4.17); ACCEL_XOUT_H 0x3B: X, Y, Z as
  big-endian 16-bit two's complement (4.17).
- Analog Devices ADXL345 datasheet, rev. G: DEVID 0x00 reads 0xE5; BW_RATE 0x2C rate code
  0x0A/0x0B/0x0C for 100/200/400 Hz (table 7); DATA_FORMAT 0x31 FULL_RES 0x08 with range
  bits 1:0, 3.9 mg/LSB at every range in full resolution (256 LSB/g); POWER_CTL 0x2D
  Measure 0x08 (set last: configure in standby); DATAX0 0x32: X, Y, Z little-endian 16-bit.
- ST LIS3DH datasheet, DocID17530 rev. 2: WHO_AM_I 0x0F reads 0x33; CTRL_REG1 0x20 ODR in
  bits 7:4 (0101/0110/0111: 100/200/400 Hz) with X, Y, Z enabled in bits 2:0; CTRL_REG4
  0x23 BDU 0x80, FS in bits 5:4, HR 0x08: 12-bit, left-justified, 1/2/4/12 mg per digit for
  +-2/4/8/16 g (table 4); OUT_X_L 0x28, read with the sub-address MSB 0x80 set so the
  address increments through X, Y, Z (little-endian) (6.1.1).
"""

RANGES = (2, 4, 8, 16)     # full scale, +-g, that all three chips offer
RATES = (100, 200, 400)    # Hz, that all three chips offer


def _words(raw, big_endian=False):
    """Three signed 16-bit words (X, Y, Z) from six bytes."""
    words = []
    for i in (0, 2, 4):
        low, high = (raw[i + 1], raw[i]) if big_endian else (raw[i], raw[i + 1])
        value = low | (high << 8)
        words.append(value - 0x10000 if value & 0x8000 else value)
    return words


class Chip:
    """One chip's register map: ``setup`` writes the init sequence, ``read`` returns g."""

    name = ""
    address = 0           # the breakout's usual I2C address
    id_register = id_value = 0

    def identify(self, bus, address):
        """ValueError naming what answered when the identity register is not this chip's."""
        found = bus.read_byte_data(address, self.id_register)
        if found != self.id_value:
            raise ValueError("register 0x{:02X} reads 0x{:02X}, not {}'s 0x{:02X}".format(
                self.id_register, found, self.name, self.id_value))

    def setup(self, bus, address, rate, full_scale):
        raise NotImplementedError

    def read(self, bus, address):
        """``(ax, ay, az)`` in g along the chip's own axes."""
        raise NotImplementedError


class Mpu6050(Chip):
    name, address = "mpu6050", 0x68
    id_register, id_value = 0x75, 0x68
    PWR_MGMT_1, SMPLRT_DIV, CONFIG, ACCEL_CONFIG, ACCEL_XOUT_H = 0x6B, 0x19, 0x1A, 0x1C, 0x3B
    DLPF = {100: 3, 200: 2, 400: 1}   # accel bandwidth below half the sample rate

    def setup(self, bus, address, rate, full_scale):
        bus.write_byte_data(address, self.PWR_MGMT_1, 0x01)   # awake, PLL on the X gyro
        bus.write_byte_data(address, self.CONFIG, self.DLPF[rate])
        bus.write_byte_data(address, self.SMPLRT_DIV, 1000 // rate - 1)
        bus.write_byte_data(address, self.ACCEL_CONFIG, RANGES.index(full_scale) << 3)
        self.lsb_per_g = 32768.0 / full_scale

    def read(self, bus, address):
        raw = bus.read_i2c_block_data(address, self.ACCEL_XOUT_H, 6)
        return tuple(w / self.lsb_per_g for w in _words(raw, big_endian=True))


class Adxl345(Chip):
    name, address = "adxl345", 0x53
    id_register, id_value = 0x00, 0xE5
    BW_RATE, POWER_CTL, DATA_FORMAT, DATAX0 = 0x2C, 0x2D, 0x31, 0x32
    RATE_CODE = {100: 0x0A, 200: 0x0B, 400: 0x0C}
    FULL_RES, MEASURE = 0x08, 0x08
    LSB_PER_G = 256.0   # 3.9 mg/LSB in full resolution, whatever the range

    def setup(self, bus, address, rate, full_scale):
        bus.write_byte_data(address, self.POWER_CTL, 0x00)   # standby while configuring
        bus.write_byte_data(address, self.BW_RATE, self.RATE_CODE[rate])
        bus.write_byte_data(address, self.DATA_FORMAT, self.FULL_RES | RANGES.index(full_scale))
        bus.write_byte_data(address, self.POWER_CTL, self.MEASURE)

    def read(self, bus, address):
        raw = bus.read_i2c_block_data(address, self.DATAX0, 6)
        return tuple(w / self.LSB_PER_G for w in _words(raw))


class Lis3dh(Chip):
    name, address = "lis3dh", 0x18
    id_register, id_value = 0x0F, 0x33
    CTRL_REG1, CTRL_REG4, OUT_X_L, AUTO_INCREMENT = 0x20, 0x23, 0x28, 0x80
    ODR = {100: 0b0101, 200: 0b0110, 400: 0b0111}
    BDU, HR = 0x80, 0x08
    MG_PER_DIGIT = {2: 1.0, 4: 2.0, 8: 4.0, 16: 12.0}   # high-resolution mode (12 bits)

    def setup(self, bus, address, rate, full_scale):
        bus.write_byte_data(address, self.CTRL_REG1, (self.ODR[rate] << 4) | 0x07)
        bus.write_byte_data(address, self.CTRL_REG4,
                            self.BDU | (RANGES.index(full_scale) << 4) | self.HR)
        self.g_per_digit = self.MG_PER_DIGIT[full_scale] / 1000.0

    def read(self, bus, address):
        raw = bus.read_i2c_block_data(address, self.OUT_X_L | self.AUTO_INCREMENT, 6)
        # 12 bits, left-justified in 16: an arithmetic shift keeps the sign
        return tuple((w >> 4) * self.g_per_digit for w in _words(raw))


CHIPS = {chip.name: chip for chip in (Mpu6050, Adxl345, Lis3dh)}
