"""What the writer does with records the store refused (a full or failing volume): decisions,
pure functions of the records, tested without threads or files.

``by_priority`` splits a refused batch into what is written first: records
that make room (pruning, deletions), then the evidence (runs, events and
alerts, track rows, segments and clips, stats: every frame without its
detection rows), then the bulk (each frame's detection rows, as a
``Detections`` record). Each part keeps its order. ``shed`` keeps what is
held within a bound: detection rows go first, then track rows that a later
held frame replaces anyway (nothing is lost), and only then the oldest
records of any kind.
"""

from collections import namedtuple

from dashcam.events import Event
from dashcam.records import FrameRecord


class Detections(FrameRecord):
    """A frame's detection rows held apart from its events and track rows."""

    __slots__ = ()


class Shed(namedtuple("Shed", "kept records rows events")):
    """``shed``'s result: the records kept, and how many records, detection rows and events
    were dropped for good."""

    __slots__ = ()


def by_priority(records, makes_room):
    """``(room, evidence, bulk)``: ``records`` split as the module says; ``makes_room(record)``
    says which records free space."""
    room, evidence, bulk = [], [], []
    for record in records:
        if makes_room(record):
            room.append(record)
        elif type(record) is FrameRecord and record.detections:
            evidence.append(record._replace(detections=(), track_ids=()))
            bulk.append(Detections(*record)._replace(events=(), tracks=()))
        else:
            (bulk if isinstance(record, Detections) else evidence).append(record)
    return room, evidence, bulk


def shed(records, limit):
    """``records`` (oldest first) cut to at most ``limit``, as the module says; a ``Shed``."""
    excess = len(records) - limit
    if excess <= 0:
        return Shed(list(records), 0, 0, 0)
    only_rows = [i for i, r in enumerate(records) if isinstance(r, Detections) or (
        type(r) is FrameRecord and r.detections and not (r.events or r.tracks))]
    doomed = set(only_rows[:excess])
    lost = len(doomed)
    for index in _rewritten(records):
        if len(doomed) >= excess:
            break
        doomed.add(index)
    for index in range(len(records)):
        if len(doomed) >= excess:
            break
        if index not in doomed:
            doomed.add(index)
            lost += 1
    gone = [records[i] for i in sorted(doomed)]
    return Shed([r for i, r in enumerate(records) if i not in doomed], lost,
                sum(len(r.detections) for r in gone if isinstance(r, FrameRecord)),
                sum(_events(r) for r in gone))


def _rewritten(records):
    """Indexes, oldest first, of the frames without events whose every track row a later
    frame writes again (``tracks`` rows are replaced whole): dropping them loses only
    their detection rows."""
    later, found = set(), []
    for index in range(len(records) - 1, -1, -1):
        record = records[index]
        if type(record) is not FrameRecord:
            continue
        ids = {row["track_id"] for row in record.tracks}
        if not record.events and ids <= later:
            found.append(index)
        later |= ids
    return found[::-1]


def _events(record):
    """The events ``record`` carries: a frame's, an event, an alert's event."""
    if isinstance(record, FrameRecord):
        return len(record.events)
    return int(isinstance(record, Event) or getattr(record, "alert", None) is not None)
