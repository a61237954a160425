"""The alert stage as ``build_pipeline`` wires it: rules and sinks from the configuration."""

import time

from dashcam.alerts.engine import AlertEngine, EventWatch, RunStatus
from dashcam.alerts.led import build_led_sink
from dashcam.alerts.records import AlertRecord, write_alerts
from dashcam.alerts.rules import AlertRule
from dashcam.alerts.serial_port import SerialSink, open_serial
from dashcam.alerts.sinks import LogSink
from dashcam.fanout import Subscriber


class Alerts:
    """The engine (a frame subscriber), the event watch (an event subscriber) and the sinks."""

    def __init__(self, engine, watch):
        self.engine = engine
        self.watch = watch

    @property
    def sinks(self):
        return self.engine.sinks

    def flush(self):
        """Once the sinks have stopped: record every alert a sink never reported, as pending."""
        self.engine.deliveries.sweep(0.0)

    def signal(self, kind):
        """Show ``kind`` (``sinks.SIGNALS``: ``export_done``, ``export_failed``, ``test``) on every
        sink: the LED's pattern, a ``$PDCAM,SIG`` line. Only queues; never blocks."""
        for sink in self.sinks:
            sink.signal(kind)

    def summary(self):
        """``{sink name: {"delivered", "failed", "unavailable", "dropped"}}``, for the run's summary."""
        return {sink.name: sink.counts() for sink in self.sinks}


def build_alerts(config, store, submit, pin_factory=None, open_port=open_serial, extra_sinks=(),
                 clock=time.monotonic, wall_clock=time.time, board=None, speed=None):
    """``Alerts`` for the enabled ``[rule:*]`` sections, with the log sink, the ``[led]`` sink
    (through ``pin_factory``, else ``[led] pin-factory``'s on ``board``, a
    ``dashcam.board.Board``) and the ``[serial]`` sink (ports from ``open_port(url,
    baudrate)``) where enabled, and ``extra_sinks``.

    ``store`` learns to write ``AlertRecord``s; ``submit`` (the event logger's) takes them.
    ``speed()``: the vehicle's speed in km/h, None without a fix (``GpsState.speed_kmh``);
    None: no speed source, so rules with speeds act as their ``no-speed`` says.
    """
    store.register(AlertRecord, write_alerts)
    rules = [AlertRule.from_section(name, section)
             for name, section in config.instances("rule").items() if section.enabled]
    status = RunStatus()
    clocks = dict(clock=clock, wall_clock=wall_clock)
    sinks = [LogSink(**clocks)]
    if config.led.enabled:
        sinks.append(build_led_sink(config.led, pin_factory, board=board, **clocks))
    serial = config.serial
    if serial.enabled:
        sinks.append(SerialSink(serial.port, serial.baudrate, serial.heartbeat_interval,
                                serial.reopen_interval, status=status.heartbeat,
                                open_port=open_port, **clocks))
    sinks.extend(extra_sinks)
    engine = AlertEngine(rules, sinks, submit, status, speed=speed, **clocks)
    watch = Subscriber("alert-events", EventWatch(sinks, status), clock=clock)
    return Alerts(engine, watch)
