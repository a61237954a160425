"""Judging alert rules on a scripted synthetic scenario, where the true time to collision is known.

Frames of ``SyntheticWorld(scenario=...)`` go through a detector, the tracker
and an ``AlertEngine`` without sinks, all on the caller's thread and with
the frames' own times, so the result depends on the frames alone. Per
repetition of the scenario it reports when the first alert of each rule
fired and when the bumpers meet (the true TTC reaching 0); per frame, the
TTC the rules estimate for the car ahead against the true one.
"""

from collections import namedtuple

from dashcam import events as ev
from dashcam.alerts.engine import AlertEngine
from dashcam.alerts.rules import time_to_collision
from dashcam.geometry import pairwise_iou
from dashcam.records import FrameRecord
from dashcam.synthetic.scenarios import PERIOD_S, collision_time

T0_UTC = 1700000000.0   # the frames' UTC times start here (any fixed time will do)


class TtcSample(namedtuple("TtcSample", "index true_s estimate_s")):
    """Frame ``index``: the car ahead's true TTC and the rules' estimate (None: none yet)."""

    __slots__ = ()


class Repetition(namedtuple("Repetition", "number first_alert collision")):
    """One repetition of a scenario: ``first_alert`` {rule: seconds into it}, ``collision``
    seconds into it when the bumpers meet (None: they never do)."""

    __slots__ = ()

    def margin(self, rule):
        """Seconds from ``rule``'s first alert to the collision (None if either is missing)."""
        fired = self.first_alert.get(rule)
        if fired is None or self.collision is None:
            return None
        return self.collision - fired


def judge(world, detector, tracker, rules, repetitions=1, step=1):
    """``(repetitions, ttc_samples, alerts)`` for ``repetitions`` of ``world``'s scenario, the
    tracker given every ``step``-th frame."""
    alerts = []
    engine = AlertEngine(rules, [], lambda record: alerts.append(record.alert))
    frames = int(round(PERIOD_S * world.fps)) * repetitions
    samples = []
    for index in range(0, frames, step):
        t = index / world.fps
        image, truths = world.frame(index)
        detections = detector.detect(image)
        update = tracker.update(detections, t, T0_UTC + t)
        engine.on_frame(FrameRecord(index, t, T0_UTC + t, detections, update.track_ids, 0.0,
                                    ev.events_from_tracks(update), [],
                                    (image.shape[1], image.shape[0])))
        lead = world.lead(index)
        if lead.ttc_s is not None:
            samples.append(TtcSample(index, lead.ttc_s, _estimate(engine, t, detections,
                                                                  update.track_ids, truths,
                                                                  lead.track_id)))
    results = []
    for number in range(repetitions):
        start, end = number * PERIOD_S, (number + 1) * PERIOD_S
        first = {}
        for alert in alerts:
            if start <= alert.t_mono < end and alert.rule not in first:
                first[alert.rule] = alert.t_mono - start
        results.append(Repetition(number, first, collision_time(world.scenario)))
    return results, samples, alerts


def _estimate(engine, t, detections, track_ids, truths, lead_id):
    """The TTC the engine gives the car ahead, or None: from the history of a lead rule's
    lead on it now (``target = lead``), else from the history of the track on it."""
    truth = [x.box for x in truths if x.track_id == lead_id and x.class_id >= 0]
    if not truth:
        return None
    leads = [(lead.samples[-1].box, lead.samples) for lead in engine.leads.values()
             if lead.samples and lead.samples[-1].t_mono == t]
    tracks = [(d.box, engine.histories.samples.get(i)) for d, i in zip(detections, track_ids)
              if d.label == "car" and i]
    for boxes in (leads, tracks):
        if boxes:
            iou = pairwise_iou(truth[:1], [b for b, _ in boxes])[0]
            best = int(iou.argmax())
            if iou[best] > 0.5:
                history = boxes[best][1]
                return time_to_collision(list(history)) if history else None
    return None
