"""The service's watchdog: pings systemd only while the pipeline makes progress.

systemd restarts a service whose ``WATCHDOG=1`` pings stop for
``WatchdogSec``. A ping from a timer would prove only that one thread is
alive; here each check compares the pipeline's counters with the previous
check's (``stalled``, a pure function), and a pipeline that stopped processing
frames, or whose store stopped taking commits, gets no ping and is restarted.
A camera that is lost is not a wedged pipeline (the capture worker is
reopening it), unless it stays lost past ``camera_restart`` seconds: a
restart then rebinds the Argus daemon's socket, which a daemon restart
replaces, and reopens the driver.
"""

import logging
from collections import namedtuple

from dashcam.service.notify import READY, STOPPING, WATCHDOG, status

log = logging.getLogger(__name__)

# Seconds between checks without a systemd watchdog: STATUS only.
STATUS_INTERVAL_S = 10.0


def stalled(previous, current, lost_for=None, camera_restart=0.0):
    """Why the pipeline counts as wedged between two checks, or None when it progressed.

    ``previous`` and ``current`` are ``Progress``; ``lost_for`` is how long the
    source has been down in seconds (None while it is up); ``camera_restart``
    the longest it may be down (0: for ever).
    """
    if current.commits == previous.commits and current.queue_depth > 0:
        return f"no commit since the last check, {current.queue_depth} records waiting"
    if lost_for is None:
        if current.frames_processed == previous.frames_processed:
            return "no frame processed since the last check"
        return None
    if camera_restart and lost_for >= camera_restart:
        return f"camera lost for {lost_for:.0f} s"
    return None


# The counters one check looks at: frames processed and records queued for the
# store (from a ``runtime.status.Snapshot``), and the store's commits.
Progress = namedtuple("Progress", "frames_processed queue_depth commits")


class Watchdog:
    """Reports the pipeline to systemd through ``notifier`` (a ``notify.Notifier``).

    The pipeline's wait loop calls ``due(now)`` every tick and, when due,
    ``check(now, snapshot, commits, source_down)``. The first check sends READY
    (the workers run); each later one, every ``interval`` seconds (half the
    watchdog timeout, as sd_notify(3) advises, or ``STATUS_INTERVAL_S``), sends
    STATUS (``describe(previous_snapshot, snapshot)``, e.g. the status line) and,
    unless ``stalled`` says why not, WATCHDOG. ``pings`` and ``withheld`` count
    the checks that sent WATCHDOG and those that held it back.
    """

    def __init__(self, notifier, camera_restart=60.0, describe=None, interval=None):
        self.notifier = notifier
        self.camera_restart = camera_restart
        self.describe = describe
        watchdog_s = notifier.watchdog_s
        self.interval = interval or (watchdog_s / 2.0 if watchdog_s else STATUS_INTERVAL_S)
        self.pings = self.withheld = 0
        self._next = None
        self._previous = None      # (snapshot, Progress) at the last check
        self._down_since = None

    def due(self, now):
        return self._next is None or now >= self._next

    def check(self, now, snapshot, commits, source_down):
        progress = Progress(snapshot.frames_processed, snapshot.queue_depth, commits)
        self._down_since = (self._down_since or now) if source_down else None
        self._next = now + self.interval
        if self._previous is None:
            self._previous = snapshot, progress
            self.notifier.send(READY, status("running"))
            return
        previous_snapshot, previous = self._previous
        self._previous = snapshot, progress
        lost_for = None if self._down_since is None else now - self._down_since
        reason = stalled(previous, progress, lost_for, self.camera_restart)
        text = self.describe(previous_snapshot, snapshot) if self.describe else "running"
        if reason is None:
            self.pings += 1
            lines = [status(text)]
            if self.notifier.watchdog_s:
                lines.append(WATCHDOG)
            self.notifier.send(*lines)
            return
        self.withheld += 1
        log.error("pipeline wedged: %s (checked every %g s); no watchdog ping", reason,
                  self.interval)
        self.notifier.send(status(f"wedged: {reason} | {text}"))

    def stopping(self):
        """STOPPING: the orderly stop has begun; the notifier is closed after it."""
        self.notifier.send(STOPPING, status("stopping"))
        self.notifier.close()
