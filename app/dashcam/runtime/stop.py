"""The stop plan: the order in which a run's stages stop, and each stage's budget, as data.

A stage is asked to stop once every stage that feeds it has stopped (or has
used up its time), so nothing is produced for a part that is gone and
nothing queued for a part is lost. Stages are then waited for in the plan's
order against one shared deadline: stage k must have stopped by the sum of
the budgets of stages 0..k after the stop began, however many workers it
has. So the final commit lands within ``COMMIT_BOUND_S`` and the whole stop
ends within ``STOP_BOUND_S`` even when parts hang (each named as stuck), well
inside systemd's ``TimeoutStopSec``. A stage that started early (recording
and the preview are asked as soon as their input ends) uses the time of the
stages before it too; its own budget is what it may add.
"""

import logging
import time
from collections import namedtuple

log = logging.getLogger(__name__)

Step = namedtuple("Step", "stage budget_s fed_by")

STOP_PLAN = (
    Step("capture", 0.5, ()),                  # no new frames
    Step("control", 0.2, ()),                  # no new messages from other processes
    Step("gps", 0.3, ()),                      # no new fixes (a read is at most 0.2 s)
    Step("imu", 0.1, ()),                      # no new samples (one period, one I2C read)
    Step("inference", 0.8, ("capture",)),      # the frame in hand; open objects leave
    Step("alerts", 0.5, ("inference",)),       # the last frames judged by the rules
    Step("alert-sinks", 0.3, ("alerts",)),     # every alert delivered on the LED, serial line
    Step("parking", 0.3, ("inference",)),      # the last frames judged, parking ended with the run
    # PUBACKs of what is in flight recorded, "offline" said; paho's thread may be in its
    # reconnect wait (broker away), which it leaves within 1 s
    Step("fleet", 1.0, ("alert-sinks",)),
    Step("recording", 0.5, ("capture",)),      # queued frames encoded, the last segment closed
    Step("uploads", 0.3, ()),                  # the PUT in flight cut: sent again at the start
    Step("event-logger", 1.0, ("control", "gps", "imu", "inference", "alert-sinks", "parking",
                               "fleet", "recording", "uploads")),  # committed
    Step("subscribers", 0.5, ("event-logger",)),  # committed events handed to clips, snapshots
    Step("preview", 1.0, ("inference",)),      # the video file closed (ffmpeg flushing)
)


def bound(stage, plan=STOP_PLAN):
    """Seconds after the stop began by which ``stage`` has stopped, at the latest."""
    total = 0.0
    for step in plan:
        total += step.budget_s
        if step.stage == stage:
            return round(total, 3)
    raise KeyError(stage)


COMMIT_BOUND_S = bound("event-logger")      # 5.8 s: everything queued is committed
STOP_BOUND_S = bound(STOP_PLAN[-1].stage)   # 7.3 s


def stop_stages(stages, before_ask=None, after_stop=None, plan=STOP_PLAN, now=time.monotonic):
    """Stop ``stages`` (``{stage: [workers]}``; a missing stage has none) by ``plan``.

    ``before_ask(stage)`` runs just before a stage is asked to stop (the run's
    last records go to the logger then), ``after_stop(stage, late)`` once it was
    waited for, with the names of its workers that did not stop in time (all of
    them are returned too).
    Joins use real time: a fake clock in tests must not stretch a stop.
    """
    started = deadline = now()
    asked, done, stuck = set(), set(), []

    def ask_ready():
        for step in plan:
            if step.stage not in asked and done.issuperset(step.fed_by):
                asked.add(step.stage)
                if before_ask is not None:
                    before_ask(step.stage)
                for worker in stages.get(step.stage, ()):
                    worker.request_stop()

    for step in plan:
        ask_ready()
        deadline += step.budget_s
        late = [w.name for w in stages.get(step.stage, ())
                if not w.stop(max(0.0, deadline - now()))]
        if late:
            log.error("%s did not stop within the stop plan's %.1f s", ", ".join(late),
                      deadline - started)
        stuck += late
        done.add(step.stage)
        if after_stop is not None:
            after_stop(step.stage, late)
    return stuck
