"""[parking]: parking mode, declared once (see ``dashcam.parking``)."""

from dashcam.config.fields import Field, Section, boolean, number, text


class Parking(Section):
    """[parking]: a parked car watched at a low rate, woken by what comes near or hits it."""

    name = "parking"
    fields = (
        Field("enabled", True, boolean(),
              "enter parking mode on the ignition line or after still-minutes without movement"),
        Field("ignition-pin", "", text("a gpiozero pin name: BOARD16 (header pin 16), GPIO23"),
              "a line that is high while the engine runs (through a divider or an optocoupler: "
              "3.3 V at most), read through [led] pin-factory; empty: none"),
        Field("still-minutes", 5.0, number(0.0, 1440.0),
              "minutes with GPS speed at most still-kmh and the IMU still before parking "
              "(0: only the ignition line parks)"),
        Field("still-kmh", 3.0, number(0.0, 50.0),
              "speeds up to this count as standing (a standing receiver reads 0 to 2 km/h)"),
        Field("fps", 1.0, number(0.1, 60.0), "frames inferred per second while parked"),
        Field("recording-fps", 1.0, number(0.1, 60.0),
              "frames recorded per second while parked, a low-rate recording in real time "
              "(below fps: fps); a CSI camera's NVENC tee records at full rate"),
        Field("event-seconds", 30.0, number(1.0, 3600.0),
              "seconds at full rate after an approaching car or an impact while parked"),
        Field("near-height", 0.15, number(0.0, 1.0),
              "a car this tall (share of the frame height) and growing counts as approaching"),
        Field("ttc-below", 4.0, number(0.1, 60.0),
              "and growing this fast: seconds it would take to reach us (the alert rules' "
              "time to collision, from two frames)"),
    )
