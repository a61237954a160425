"""GPS: position and speed from gpsd or a serial NMEA receiver, kept by a worker in a
``GpsState`` that other stages read (``latest()``, ``at(t)``, ``speed_kmh()``), stored as
fixes, stamped on every event and segment, and exported as a GPX track."""

from dashcam.gps.build import GpsStage, build_gps
from dashcam.gps.rawlog import RawLog, raw_lines, raw_log_path
from dashcam.gps.sources import open_gps_source, parse_gps_url
from dashcam.gps.state import GpsState
from dashcam.gps.worker import FixRecord, GpsWorker

__all__ = ("FixRecord", "GpsStage", "GpsState", "GpsWorker", "RawLog", "build_gps", "open_gps_source",
           "parse_gps_url", "raw_lines", "raw_log_path")
