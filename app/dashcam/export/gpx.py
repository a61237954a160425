"""The GPS track as GPX 1.1, with speed and course where Garmin's viewers (and most others:
GPXSee, gpxpy, BaseCamp) read them: Garmin's TrackPointExtension v2 (``gpxtpx:speed`` in
m/s, ``gpxtpx:course`` in degrees), since GPX 1.1 itself has neither.

Where the fixes stop for longer than ``GAP_S`` (a lost fix, a run that ended) a new track
segment begins, so a viewer draws no straight line across the gap.
"""

from dashcam import __version__
from dashcam.timestamps import iso_utc

GAP_S = 10.0
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="dashcam {version}" xmlns="http://www.topografix.com/GPX/1/1" \
xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd \
http://www.garmin.com/xmlschemas/TrackPointExtension/v2 \
https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd">
  <trk>
    <name>{name}</name>
"""


def segments(fixes, gap=GAP_S):
    """``fixes`` (time order) split where consecutive fixes are more than ``gap`` s apart."""
    out, last = [], None
    for fix in fixes:
        if last is None or fix.time is None or last.time is None or fix.time - last.time > gap:
            out.append([])
        out[-1].append(fix)
        last = fix
    return out


def trkpt(fix):
    """One ``<trkpt>``: position, elevation, time, and speed/course in the extension."""
    lines = [f'      <trkpt lat="{fix.lat:.7f}" lon="{fix.lon:.7f}">']
    if fix.alt is not None:
        lines.append(f"        <ele>{fix.alt:.1f}</ele>")
    if fix.time is not None:
        lines.append(f"        <time>{iso_utc(fix.time)}</time>")
    extension = []
    if fix.speed is not None:
        extension.append(f"<gpxtpx:speed>{fix.speed:.2f}</gpxtpx:speed>")
    if fix.heading is not None:
        extension.append(f"<gpxtpx:course>{fix.heading % 360.0:.1f}</gpxtpx:course>")
    if extension:
        lines.append("        <extensions><gpxtpx:TrackPointExtension>{}"
                     "</gpxtpx:TrackPointExtension></extensions>".format("".join(extension)))
    lines.append("      </trkpt>")
    return "\n".join(lines) + "\n"


def gpx_text(fixes, name="dashcam"):
    """The GPX document of ``fixes`` (``senses.Fix``, time order), as text."""
    parts = [HEAD.format(version=__version__, name=name)]
    for segment in segments(fixes):
        parts.append("    <trkseg>\n")
        parts.extend(trkpt(fix) for fix in segment)
        parts.append("    </trkseg>\n")
    parts.append("  </trk>\n</gpx>\n")
    return "".join(parts)
