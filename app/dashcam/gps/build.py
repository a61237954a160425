"""The GPS stage as ``dashcam run`` builds it from ``[gps]``: the state other stages read,
and (unless the source is ``none``) the worker, its raw log and the store's fixes writer."""

import functools
import time
from collections import namedtuple

from dashcam.gps.rawlog import RawLog, raw_log_path
from dashcam.gps.sources import open_gps_source, parse_gps_url
from dashcam.gps.state import GpsState
from dashcam.gps.worker import FixRecord, GpsWorker
from dashcam.store.fixes import write_fixes


class GpsStage(namedtuple("GpsStage", "state worker")):
    """``state``: the ``GpsState`` (always; without a receiver it never has a fix);
    ``worker``: the ``GpsWorker``, or None for ``[gps] source = none``."""

    __slots__ = ()


def build_gps(config, store, publish, open_gps=None, state=None, clock=time.monotonic,
              wall_clock=time.time, url=None):
    """The GPS stage for ``config``'s ``[gps]``, writing fixes to ``store`` (its kind writer
    registered) and handing its records to ``publish``. ``open_gps(url, on_line)``: opens
    the source (``open_gps_source`` unless given); ``state``: a ``GpsState`` to fill; ``url``:
    the source as resolved for this camera (``synthetic.senses.sense_url``; [gps]'s if None)."""
    section = config.gps
    url = section.source if url is None else url
    scheme = parse_gps_url(url)[0]
    if state is None:
        state = GpsState(url if scheme not in ("none", "auto") else "none", section.lost_after,
                         wall_clock=wall_clock)
    store.register(FixRecord, write_fixes)
    if scheme in ("none", "auto") and open_gps is None:
        return GpsStage(state, None)
    raw = None
    if section.log_size:
        raw = RawLog(raw_log_path(store.path), section.log_size * 1024, section.log_files,
                     wall_clock)
    opener = functools.partial(open_gps or open_gps_source, url,
                               on_line=raw.write if raw else None)
    worker = GpsWorker(url, opener, state, publish, section.lost_after, section.reopen_interval,
                       section.store_interval, raw_log=raw, clock=clock, wall_clock=wall_clock)
    return GpsStage(state, worker)
