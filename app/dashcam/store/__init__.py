"""The store: SQLite with one writer thread (the event logger), a schema with migrations,
kind writers for each record type, and readers on their own connections."""

from dashcam.errors import StoreError
from dashcam.store.kinds import DETECTIONS_MODES
from dashcam.store.logger import EventLoggerWorker
from dashcam.store.reader import StoreReader
from dashcam.store.schema import LATEST_VERSION, migrate, schema_version
from dashcam.store.writer import SYNCHRONOUS, EventStore

__all__ = ("DETECTIONS_MODES", "EventLoggerWorker", "EventStore", "LATEST_VERSION", "SYNCHRONOUS",
           "StoreError", "StoreReader", "migrate", "schema_version")
