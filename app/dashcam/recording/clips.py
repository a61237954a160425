"""Which events get a clip, over which window: pure decisions, no threads, no files.

An event's clip is the video of [start - pre-roll, end + post-roll]. The pre-
roll is free (it is already on disk); an event that is still open (an object
in view, a camera down) protects every segment until it closes, then its
post-roll. The ``[recording] clips`` setting says which types get one, by name,
so a type added later (``alert``) is covered the day it exists::

    *                      every type, with [recording] pre-roll / post-roll
    TYPE                   this type, with the defaults
    TYPE=PRE/POST          this type, with its own seconds (e.g. alert=15/30)
    -TYPE                  no clip for this type (e.g. -object_appeared, for a parked car)

A closing event (``object_left``, ``camera_restored``: ``events.CLOSES``) gets
no clip of its own: it ends the window of the event it closes.
"""

from collections import namedtuple

from dashcam import events as ev
from dashcam.recording.index import ClipRequest

# Every type but the routine ones: an object in view (on a road, nearly always) would
# protect every segment, and retention could then only delete evidence. Alerts, a lost
# camera, an interrupted run, paused recording keep their clips.
DEFAULT_CLIPS = ("*, -object_appeared, -object_left, -run_started, -run_stopped, "
                 "-segment_recovered, -segment_quarantined, -protected_deleted, -export_finished, "
                 "-worker_failed, -control_refused, -gps_lost, -gps_restored, -parking_started")
CLIPS_HELP = "* (every type), TYPE, TYPE=PRE/POST seconds, -TYPE (none), separated by commas"


class ClipPolicy(namedtuple("ClipPolicy", "pre post everything chosen excluded")):
    """``chosen``: type -> (pre, post) seconds; ``everything``: the ``*`` token was given."""

    __slots__ = ()

    def roll(self, event_type):
        """``(pre, post)`` seconds for ``event_type``, or None: no clip."""
        if event_type in ev.CLOSES or event_type in self.excluded:
            return None
        if event_type in self.chosen:
            return self.chosen[event_type]
        return (self.pre, self.post) if self.everything else None


def parse_clips(text, pre=10.0, post=10.0):
    """A ``ClipPolicy`` from the ``clips`` setting (module docstring); ValueError naming
    the token that is wrong."""
    everything, chosen, excluded = False, {}, set()
    for token in (t.strip() for t in text.split(",")):
        if not token:
            continue
        if token == "*":
            everything = True
        elif token.startswith("-") and _is_type(token[1:]):
            excluded.add(token[1:])
        elif "=" in token:
            name, _, seconds = token.partition("=")
            parts = seconds.split("/")
            try:
                values = tuple(float(p) for p in parts)
            except ValueError:
                values = ()
            if not _is_type(name.strip()) or len(values) != 2 or min(values) < 0:
                raise ValueError("{!r}: expected TYPE=PRE/POST seconds, e.g. alert=15/30".format(
                    token))
            chosen[name.strip()] = values
        elif _is_type(token):
            chosen[token] = (pre, post)
        else:
            raise ValueError(f"{token!r} is not an event type")
    return ClipPolicy(pre, post, everything, chosen, frozenset(excluded))


def _is_type(name):
    return bool(name) and name.replace("_", "").isalnum()


class ClipKeeper:
    """Turns committed events into ``ClipRequest`` records, remembering open windows.

    ``requests(event_id, event)`` is fed every committed event in order; an
    open event's window is sent open (end None) and sent again, closed, when
    the event that closes it comes.
    """

    def __init__(self, policy):
        self.policy = policy
        self.open = {}   # (type, track_id) -> (event_id, window start, post-roll)

    def requests(self, event_id, event):
        opened = ev.CLOSES.get(event.type)
        if opened is not None:
            entry = self.open.pop((opened, event.track_id), None)
            if entry is None:
                return []
            opener_id, start, post = entry
            return [ClipRequest(opener_id, start, event.ts_end + post)]
        roll = self.policy.roll(event.type)
        if roll is None:
            return []
        pre, post = roll
        start = event.ts_start - pre
        if event.ts_end is None:
            self.open[(event.type, event.track_id)] = (event_id, start, post)
            return [ClipRequest(event_id, start, None)]
        return [ClipRequest(event_id, start, event.ts_end + post)]


def catch_up(events, policy):
    """``ClipRequest``s for events of an earlier run whose clip was not (or not fully)
    written: committed in that run's last moments, after its clip requests could still
    be stored, or left open by a crash. ``events``: ``(id, type, ts_start, ts_end)``
    (epoch seconds; ts_end None: never closed, the window stays open to its last video)."""
    requests = []
    for event_id, event_type, start, end in events:
        roll = policy.roll(event_type)
        if roll is not None:
            pre, post = roll
            requests.append(ClipRequest(event_id, start - pre,
                                        end + post if end is not None else None))
    return requests
