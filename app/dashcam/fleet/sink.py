"""The fleet link as an alert sink: each alert to the outbox at once, before the store has it."""

from dashcam.alerts.sinks import Sink
from dashcam.fleet import messages as msg


class FleetAlertSink(Sink):
    """Puts each alert in the outbox for ``<prefix>/alerts`` (``submit``: the event logger's).
    ``run_id()`` says the run's id (set once the run starts); ``position(t)`` the GPS fix at
    ``t`` (``gps.GpsState.at``; None: no GPS). Its delivery is ``delivered`` once the alert is
    queued for the outbox; the broker's PUBACK is the outbox's business."""

    def __init__(self, device, submit, run_id, name="mqtt", position=None, **kwargs):
        Sink.__init__(self, name, **kwargs)
        self.device, self.submit, self.run_id = device, submit, run_id
        self.position = position

    def deliver(self, alert):
        found = self.position(alert.t_utc) if self.position is not None else None
        message = msg.alert_message(self.device, alert, self.run_id(), found)
        if not self.submit(message):
            raise RuntimeError("the event logger's queue is full: the alert is not in the outbox")
        return "outbox: " + message.topic
