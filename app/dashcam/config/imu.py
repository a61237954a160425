"""[imu] and [button]: the G-sensor and the lock button, declared once."""

from dashcam.config.fields import Field, Section, boolean, choice, number, parsed, text
from dashcam.imu.chips import RANGES, RATES
from dashcam.imu.motion import AXES, SENSITIVITY, impact_threshold


def _sensitivity(value):
    impact_threshold(value.strip())   # ValueError for anything else
    return value.strip()


class Imu(Section):
    """[imu]: an accelerometer for impacts and harsh driving."""

    name = "imu"
    fields = (
        Field("source", "auto", text("auto, none, i2c://BUS/ADDR?chip=mpu6050|adxl345|lis3dh, "
                                     "csv://PATH (a trace t,ax,ay,az), synthetic"),
              "the accelerometer: a breakout on the I2C bus (i2c://1/0x68?chip=mpu6050), or a "
              "recorded trace replayed in real time; synthetic: the synthetic camera's own car "
              "(auto: that with a synthetic scenario, else none); none: no impact detection"),
        Field("rate", 100, choice(*RATES), "samples a second"),
        Field("range", 8, choice(*RANGES), "the chip's full scale, +-g (a crash is beyond 4 g)"),
        Field("sensitivity", "medium",
              parsed(_sensitivity, "low ({low:g} g), medium ({medium:g} g), high ({high:g} g) "
                     "or a number of g, 0.1..16".format(**SENSITIVITY)),
              "impact: how far beyond gravity (any direction) the acceleration must go"),
        Field("impact-min-duration", 0.01, number(0.0, 1.0),
              "impact: seconds it must stay beyond the threshold (one stray sample is not one)"),
        Field("forward", "auto", choice("auto", *AXES),
              "the chip axis that points ahead; auto: learned from the first pull-away after "
              "a rest"),
        Field("harsh-braking", 0.45, number(0.1, 4.0), "g of deceleration for harsh_braking"),
        Field("harsh-acceleration", 0.40, number(0.1, 4.0),
              "g of acceleration for harsh_acceleration"),
        Field("harsh-cornering", 0.45, number(0.1, 4.0),
              "g sideways for harsh_cornering"),
        Field("harsh-min-duration", 0.3, number(0.0, 10.0),
              "seconds a harsh_* acceleration must last (smoothed over 0.1 s)"),
        Field("still-threshold", 0.05, number(0.005, 1.0),
              "g beyond gravity under which the vehicle counts as still"),
        Field("still-seconds", 10.0, number(1.0, 3600.0),
              "seconds still before the vehicle is at rest (the parking mode asks)"),
        Field("reopen-max", 10.0, number(0.5, 600.0),
              "longest wait between tries to reopen a chip that went, seconds"),
    )


class Button(Section):
    """[button]: a push button that locks the clip around its press (manual_lock)."""

    name = "button"
    fields = (
        Field("pin", "", text("a gpiozero pin name (BOARD16, GPIO23); empty: no button"),
              "the pin the button pulls to ground (or up, with pull-up = false); the pin "
              "factory is [led] pin-factory"),
        Field("pull", "up", choice("up", "down", "external"),
              "up: pressed pulls the pin to ground, against the pin's own pull-up; down: to "
              "3.3 V; external: a resistor on the board (a Jetson sets no pull: use this)"),
        Field("active-low", True, boolean(),
              "with pull = external: pressed reads low (a button to ground)"),
        Field("bounce", 0.05, number(0.0, 1.0), "seconds of contact bounce ignored"),
        Field("hold-off", 2.0, number(0.0, 60.0),
              "seconds after a lock in which another press makes no second lock"),
    )
