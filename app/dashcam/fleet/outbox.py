"""The outbox's records and kind writers: every message is a row before it is sent.

Messages reach the store through the event logger, the single writer: an
``Outgoing`` record (an alert, a heartbeat, a command's result), or, for the
events, an observer (``EventStore.observe``) that adds each committed event's
message in the same transaction as the event itself, so an event and its
message are on disk together or not at all. The row's ``seq`` (AUTOINCREMENT)
is the message's sequence number. Once committed, the new rows go to the
link (``listeners``), which sends them; ``Acked`` deletes what the broker
acknowledged (PUBACK).

The outbox is bounded (``max_rows``, ``max_bytes``): an older heartbeat is
dropped when a newer one is stored (only the latest is worth sending after an
outage), and past the bound the oldest events go first, then that heartbeat,
then the oldest alerts (``DROP_ORDER``, ``choose_drops``). What is dropped is
counted in ``outbox_state`` and sent as one ``gap`` message once the link is
back (``GapDue``).
"""

import logging
from collections import namedtuple

from dashcam import events as ev
from dashcam.fleet import messages as msg
from dashcam.store.outbox import (delete_messages, drop_candidates, has_event_between,
                                  insert_messages, opened_event, outbox_totals, read_state,
                                  superseded, track_alerts, write_state)
from dashcam.timestamps import iso_utc

log = logging.getLogger(__name__)

# What the bound drops first: events, then the one heartbeat left (older ones are dropped
# as soon as a newer is stored), then alerts, oldest first within each.
DROP_ORDER = (msg.EVENT_PRIORITY, msg.HEARTBEAT_PRIORITY, msg.ALERT_PRIORITY)
MAX_RANGES = 256   # dropped seq ranges a gap message lists; past it neighbours are joined


class Acked(namedtuple("Acked", "seqs t_utc")):
    """The broker acknowledged the messages ``seqs`` (the newest at ``t_utc``)."""

    __slots__ = ()


class GapDue(namedtuple("GapDue", "t_utc")):
    """The link is back: what the bound dropped becomes one ``gap`` message, if anything."""

    __slots__ = ()


class LinkState(namedtuple("LinkState", "state t_utc detail")):
    """The link's state (``connected``, ``disconnected``, ``stopped``) since ``t_utc``, for
    ``dashcam fleet status``."""

    __slots__ = ()


def choose_drops(rows, size, candidates, max_rows, max_bytes):
    """The ``(seq, priority, bytes)`` to drop, from ``candidates`` (in drop order), until
    ``rows`` and ``size`` are within ``max_rows`` and ``max_bytes``."""
    dropped = []
    for candidate in candidates:
        if rows <= max_rows and size <= max_bytes:
            break
        dropped.append(candidate)
        rows -= 1
        size -= candidate[2]
    return dropped


def merge_ranges(ranges, seqs, limit=MAX_RANGES):
    """``ranges`` (sorted, disjoint ``[first, last]``) with ``seqs`` added, at most ``limit``
    of them: past it the two nearest neighbours are joined (the range then covers seqs
    that were sent: a consumer that has them keeps them)."""
    merged = []
    for first, last in sorted([list(r) for r in ranges] + [[s, s] for s in seqs]):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    while len(merged) > limit:
        at = min(range(len(merged) - 1), key=lambda i: merged[i + 1][0] - merged[i][1])
        merged[at:at + 2] = [[merged[at][0], merged[at + 1][1]]]
    return merged


class OutboxIndex:
    """The kind writers and the event observer of the outbox, for ``device``.

    ``types``: the event types published (``config.mqtt.EventTypes``); ``listeners``:
    callables ``(added, dropped)`` called after each commit with the new rows
    ``(seq, topic, priority, payload)`` and the seqs dropped.
    """

    def __init__(self, device, max_rows, max_bytes, types):
        self.device, self.max_rows, self.max_bytes, self.types = device, max_rows, max_bytes, types
        self.listeners = []

    def register(self, store):
        store.register(msg.Outgoing, self.write_outgoing)
        store.register(Acked, self.write_acked, makes_room=True)
        store.register(GapDue, self.write_gap)
        store.register(LinkState, self.write_link)
        store.observe(self.observe)
        return self

    def write_outgoing(self, batch, run_id, records):
        self._add(batch, records)

    def write_acked(self, batch, run_id, records):
        seqs = [s for r in records for s in r.seqs]
        delete_messages(batch.conn, seqs)
        write_state(batch.conn, "last_ack", iso_utc(max(r.t_utc for r in records)))
        batch.rows["outbox_acked"] += len(seqs)

    def write_gap(self, batch, run_id, records):
        dropped = read_state(batch.conn, "dropped")
        if dropped:
            write_state(batch.conn, "dropped", None)
            self._add(batch, [msg.gap_message(self.device, records[-1].t_utc, dropped)])

    def write_link(self, batch, run_id, records):
        last = records[-1]
        write_state(batch.conn, "link", {"state": last.state, "since": iso_utc(last.t_utc),
                                         "detail": last.detail})

    def observe(self, batch, run_id):
        found = [m for event_id, event in batch.events
                 for m in self.event_messages(batch.conn, run_id, event_id, event,
                                              batch.stamp(event.ts_start))]
        if found:
            self._add(batch, found)

    def event_messages(self, conn, run_id, event_id, event, stamp=(None, None, None, None)):
        """The ``<prefix>/events`` message of an event just inserted, if its type is published:
        ``end`` of the event it closes, ``new`` of one that lasts, ``update`` of an object's
        event for an alert on it, else ``end`` of an event of a moment. The events before it
        are read as they were when it happened (a batch may hold its successors too)."""
        device, t_utc = self.device, event.ts_end or event.ts_start
        row = msg.event_row(event_id, event, stamp)
        opened_type = ev.CLOSES.get(event.type)
        if opened_type:
            opened = opened_event(conn, run_id, opened_type, event.track_id, event_id)
            if opened is None or has_event_between(conn, run_id, event.type, event.track_id,
                                                   opened["id"], event_id):
                return self._instant(run_id, row, t_utc)   # nothing open to close
            if opened_type not in self.types:
                return []
            before = self._view(conn, run_id, dict(opened, ts_end=None), event_id)
            after = self._view(conn, run_id, dict(opened, ts_end=row["ts_end"]), event_id)
            after["ended_by"] = msg.event_view(device, run_id, row)
            return [msg.event_message(device, "end", before, after, t_utc)]
        if event.ts_end is None:
            if event.type not in self.types:
                return []
            view = self._view(conn, run_id, row, event_id)
            return [msg.event_message(device, "new", None, view, t_utc)]
        if event.type == ev.ALERT and event.track_id is not None:
            opened = opened_event(conn, run_id, ev.OBJECT_APPEARED, event.track_id, event_id)
            if opened is not None and ev.OBJECT_APPEARED in self.types and not has_event_between(
                    conn, run_id, ev.OBJECT_LEFT, event.track_id, opened["id"], event_id):
                opened["ts_end"] = None
                return [msg.event_message(device, "update",
                                          self._view(conn, run_id, opened, event_id - 1),
                                          self._view(conn, run_id, opened, event_id), t_utc)]
        return self._instant(run_id, row, t_utc)

    def _instant(self, run_id, row, t_utc):
        if row["type"] not in self.types:
            return []
        view = msg.event_view(self.device, run_id, row)
        return [msg.event_message(self.device, "end", None, view, t_utc)]

    def _view(self, conn, run_id, row, upto_id):
        """An event's view; an object's with the alerts raised on it up to event ``upto_id``."""
        view = msg.event_view(self.device, run_id, row)
        if row["type"] == ev.OBJECT_APPEARED:
            view = msg.with_alerts(view, track_alerts(conn, run_id, row["track_id"], row["id"],
                                                      upto_id))
        return view

    def _add(self, batch, records):
        """Insert ``records`` (``Outgoing``), keep the outbox within its bound, and tell the
        listeners once the transaction is committed."""
        conn = batch.conn
        seqs = insert_messages(conn, [(r.topic, r.priority, r.payload, iso_utc(r.t_utc))
                                      for r in records])
        added = [(seq, r.topic, r.priority, r.payload) for seq, r in zip(seqs, records)]
        beats = [seq for seq, r in zip(seqs, records) if r.priority == msg.HEARTBEAT_PRIORITY]
        drops = superseded(conn, msg.HEARTBEAT_PRIORITY, max(beats)) if beats else []
        delete_messages(conn, [d[0] for d in drops])
        rows, size = outbox_totals(conn)
        if rows > self.max_rows or size > self.max_bytes:
            candidates = drop_candidates(conn, DROP_ORDER)
            over = choose_drops(rows, size, candidates, self.max_rows, self.max_bytes)
            candidates.close()
            delete_messages(conn, [d[0] for d in over])
            drops += over
        if drops:
            self._count(conn, drops, records[-1].t_utc)
        batch.rows["outbox"] += len(seqs)
        dropped = [d[0] for d in drops]
        for listener in self.listeners:
            batch.committed.append(lambda listener=listener: listener(added, dropped))

    def _count(self, conn, drops, t_utc):
        state = read_state(conn, "dropped") or {"counts": {}, "bytes": 0, "seqs": [],
                                                 "since": iso_utc(t_utc)}
        for _, priority, _ in drops:
            key = str(priority)
            state["counts"][key] = state["counts"].get(key, 0) + 1
        state["bytes"] += sum(d[2] for d in drops)
        state["seqs"] = merge_ranges(state["seqs"], [d[0] for d in drops])
        state["until"] = iso_utc(t_utc)
        write_state(conn, "dropped", state)
        if any(priority == msg.ALERT_PRIORITY for _, priority, _ in drops):
            log.error("fleet outbox full: alerts dropped (outbox-max-rows %d, outbox-max-bytes "
                      "%d); they are reported as a gap", self.max_rows, self.max_bytes)
