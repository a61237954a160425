"""The store: SQLite with one writer thread (the event logger), a schema with migrations,
kind writers for each record type, and readers on their own connections.

Every SQL statement of the dashcam lives in this package, grouped by what it
holds: ``runs``, ``alerts``, ``segments``, ``clips``, ``maintenance``
(integrity, pruning), ``snapshot`` (export's consistent copy), ``outbox`` (the
fleet link's messages), ``reader`` and ``schema``. ``room`` keeps the store
writable on a small or full volume, and ``held`` decides what the writer keeps,
and writes first, while it is not.
"""

from dashcam.errors import StoreError
from dashcam.store.alerts import insert_alerts, read_alerts
from dashcam.store.clips import (clip_segments, clipped_events, link_segment, link_window,
                                 list_clips, protected_clip_segments, unclipped_events)
from dashcam.store.kinds import DETECTIONS_MODES
from dashcam.store.logger import EventLoggerWorker
from dashcam.store.maintenance import (content_bytes, detections_before, free_page_bytes,
                                       has_detections, quick_check, write_detection_pruning)
from dashcam.store.reader import (StoreReader, event_by_id, event_type_counts, frame_detections,
                                  run_ids, table_rows)
from dashcam.store.schema import LATEST_VERSION, has_table, migrate, schema_version, table_columns
from dashcam.store.segments import (add_segment, event_snapshots, events_without_snapshot,
                                    indexed_segment_paths, segment_after, segment_covering,
                                    segment_ending_in, segments_by_start, unsnapped_events,
                                    write_segment_deletions, write_snapshot_paths)
from dashcam.store.snapshot import check_snapshot, take_snapshot
from dashcam.store.writer import SYNCHRONOUS, EventStore

__all__ = ("DETECTIONS_MODES", "EventLoggerWorker", "EventStore", "LATEST_VERSION", "SYNCHRONOUS",
           "StoreError", "StoreReader", "add_segment", "check_snapshot", "clip_segments",
           "clipped_events", "content_bytes", "detections_before", "event_by_id",
           "event_snapshots", "event_type_counts", "events_without_snapshot", "frame_detections",
           "free_page_bytes", "has_detections", "has_table", "indexed_segment_paths",
           "insert_alerts", "link_segment", "link_window", "list_clips", "migrate",
           "protected_clip_segments", "quick_check", "read_alerts", "run_ids", "schema_version",
           "segment_after", "segment_covering", "segment_ending_in", "segments_by_start",
           "table_columns", "table_rows", "take_snapshot", "unclipped_events", "unsnapped_events",
           "write_detection_pruning", "write_segment_deletions", "write_snapshot_paths")
