"""Driver alerts: rules on tracked objects, and sinks that deliver them (LED, serial line, log).

``build_alerts(config)`` makes the stage; ``build_pipeline`` wires it: the
engine sees every ``FrameRecord`` as it leaves inference, the sinks deliver at
once on their own threads, and each alert reaches the store afterwards as an
``alert`` event with one ``alerts`` row per sink.
"""

from dashcam.alerts.build import Alerts, build_alerts

__all__ = ("Alerts", "build_alerts")
