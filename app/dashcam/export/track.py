"""The GPS part of an export: ``track.gpx`` (the stored fixes of the range) and
``gps-raw.log`` (the receiver's own NMEA sentences or gpsd lines of the range, as logged)."""

from dashcam.export.files import HashingWriter
from dashcam.export.gpx import gpx_text
from dashcam.gps.rawlog import raw_lines, raw_log_path

GPX_NAME = "track.gpx"
RAW_NAME = "gps-raw.log"


def write_track(work, reader, db_path, since=None, until=None):
    """Write ``track.gpx`` from ``reader``'s fixes (a ``StoreReader`` on the export's
    snapshot, already cut to the range) and ``gps-raw.log`` from the live store's raw log
    (``db_path``'s), each only where there is something, into ``work`` (a ``stick.Folder``).
    Returns ``(manifest entries, SUMMARY line)``."""
    fixes = reader.fixes()
    manifest, lines = [], 0
    if fixes:
        with HashingWriter(work, GPX_NAME) as out:
            out.write(gpx_text(fixes).encode("utf-8"))
            out.commit()
        manifest.append((out.name, out.sha256, out.bytes))
    raw = raw_lines(raw_log_path(db_path), since, until)
    first = next(raw, None)
    if first is not None:
        with HashingWriter(work, RAW_NAME) as out:
            out.write(first.encode("utf-8"))
            lines = 1
            for line in raw:
                out.write(line.encode("utf-8"))
                lines += 1
            out.commit()
        manifest.append((out.name, out.sha256, out.bytes))
    if not fixes and not lines:
        return manifest, "GPS: none in this range"
    return manifest, "GPS: {} fixes in {}, {} raw receiver lines in {}".format(
        len(fixes), GPX_NAME if fixes else "(no track)", lines, RAW_NAME if lines else "(none)")
