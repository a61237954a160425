"""An impact on the alert sinks: the alerts' lane and the critical pattern; a lock's
acknowledgement gives way to it."""

from dashcam.alerts.led import LedState
from dashcam.alerts.sinks import IMPACT, MANUAL_LOCK, Sink


def test_an_impact_is_queued_in_the_alerts_lane_when_other_signals_fill_theirs():
    sink = Sink("probe", queue_size=2, other_size=2)
    assert sink.signal("test") and sink.signal("test")
    assert not sink.signal(MANUAL_LOCK)              # the other lane is full
    assert sink.signal(IMPACT, t_utc=1700000000.0)   # the alerts' lane is not
    first = sink.take(0)
    assert (first.kind, first.t_utc) == (IMPACT, 1700000000.0)   # and it goes first
    assert sink.dropped_signals == 1 and sink.dropped == 0


def test_a_lock_acknowledgement_does_not_cut_an_impact_pattern_short():
    state = LedState(heartbeat=False)
    assert state.show(IMPACT, 10.0)
    assert not state.show(MANUAL_LOCK, 10.5)
    assert state.active(10.5) == IMPACT and state.active(13.1) is None
    assert state.show(MANUAL_LOCK, 14.0) and state.level(14.01)[0] == 1.0
    assert state.active(14.5) is None                # three quick blinks: 0.45 s
