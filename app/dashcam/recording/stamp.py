"""The stamp on evidence: UTC time, GPS speed and position, and what happened, as text.

Pure functions of the fixes and events passed in, so a clip's subtitle cues,
its burnt-in strip and the recorder's live strip all say the same thing: the
cues of a clip (``clip_cues``), the line for one moment (``moment_line``) and
the strip drawn into a 4:2:0 picture (``draw_strip``). Where no fix covers a
moment the stamp says "no GPS": a speed is never invented.
"""

import bisect
import datetime
import math
from collections import namedtuple

import cv2

from dashcam import events as ev

MAX_FIX_AGE_S = 3.0     # an older fix is no fix: receivers report once a second
EVENT_SHOW_S = 3.0      # how long an event's line stays in the cues
MAX_EVENT_LINES = 3     # the newest events at a moment; more would hide the picture
NO_GPS = "no GPS"
_EPOCH = datetime.datetime(1970, 1, 1)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class Cue(namedtuple("Cue", "start end text")):
    """One subtitle: shown from ``start`` to ``end`` (UTC epoch seconds)."""

    __slots__ = ()


def utc_second(t):
    """``t`` (UTC epoch seconds) to the second, as a stamp shows it: ``2023-11-14 22:13:20Z``."""
    moment = _EPOCH + datetime.timedelta(seconds=math.floor(t))
    return moment.strftime("%Y-%m-%d %H:%M:%SZ")


def speed_text(kmh):
    return NO_GPS if kmh is None else f"{kmh:.0f} km/h"


def position_text(fix):
    """``48.13743N 11.57549E``: five decimals, about a metre."""
    return "{:.5f}{} {:.5f}{}".format(abs(fix.lat), "N" if fix.lat >= 0 else "S",
                                      abs(fix.lon), "E" if fix.lon >= 0 else "W")


def fix_at(fixes, times, t):
    """The newest of ``fixes`` (``senses.Fix``, in time order; ``times`` their times) at or
    before ``t`` and no older than ``MAX_FIX_AGE_S``, or None."""
    index = bisect.bisect_right(times, t) - 1
    if index < 0 or t - times[index] > MAX_FIX_AGE_S:
        return None
    return fixes[index]


def moment_line(t, fix):
    """The stamp of moment ``t`` with ``fix`` (None: no GPS): time, speed and position."""
    if fix is None:
        return f"{utc_second(t)}  {NO_GPS}"
    speed = "speed ?" if fix.speed_kmh is None else speed_text(fix.speed_kmh)
    return f"{utc_second(t)}  {speed}  {position_text(fix)}"


def live_line(t, kmh):
    """The recorder's stamp: time and speed (``kmh`` None: no GPS)."""
    return f"{utc_second(t)}  {speed_text(kmh)}"


def event_line(event):
    """One line for an event row (a dict as ``StoreReader.events`` gives it)."""
    data = event.get("data") or {}
    thing = " ".join(p for p in (event.get("label"), "#{}".format(event["track_id"])
                                 if event.get("track_id") is not None else None) if p)
    if event["type"] == ev.ALERT:
        ttc = "" if data.get("ttc_s") is None else ", TTC {:.1f} s".format(data["ttc_s"])
        return "ALERT {} {}: {}{}".format(event["severity"], data.get("rule", "?"), thing, ttc)
    return "{} {}".format(event["type"].replace("_", " "), thing).strip()


def clip_cues(start, end, fixes, events, parse_time):
    """The cues of a clip shown from ``start`` to ``end`` (UTC epoch seconds): one a second,
    on the second, and one more at each event's start, so none overlaps another.

    ``fixes``: ``senses.Fix`` in time order; ``events``: event rows (``ts_start`` ISO
    text, read by ``parse_time``), each named for ``EVENT_SHOW_S`` from its start.
    """
    times = [f.time for f in fixes]
    marks = sorted((parse_time(e["ts_start"]), e["id"], event_line(e)) for e in events)
    cuts = {start, end}
    cuts.update(float(s) for s in range(int(math.floor(start)) + 1, int(math.ceil(end))))
    cuts.update(t for t, _, _ in marks if start < t < end)
    cuts = sorted(cuts)
    cues = []
    for a, b in zip(cuts, cuts[1:]):
        lines = [text for t, _, text in marks if t <= a < t + EVENT_SHOW_S]
        text = "\n".join([moment_line(a, fix_at(fixes, times, a))] + lines[-MAX_EVENT_LINES:])
        cues.append(Cue(a, b, text))
    return cues


def cue_at(cues, starts, t):
    """The text of the cue shown at ``t`` (``starts``: the cues' starts), or None."""
    index = bisect.bisect_right(starts, t) - 1
    return cues[index].text if index >= 0 and t < cues[index].end else None


def strip_height(height, lines=1):
    """The strip's height in pixels for a picture ``height`` high: 24 at 1080p (a line of
    about 2 % of the picture), at least 12; even, so 4:2:0 chroma rows stay whole."""
    line = max(12, int(round(height / 45.0)) // 2 * 2)
    return min(height // 2 * 2, line * lines)


def draw_strip(i420, width, height, text):
    """Draw ``text`` (lines split on newlines) white on black across the bottom of ``i420``,
    a 4:2:0 planar picture as OpenCV's ``COLOR_BGR2YUV_I420`` and PyAV's ``yuv420p`` lay it
    out (``height * 3 // 2`` rows of ``width``), in place; returns the strip's height.

    Only the strip's rows are touched: the luma rows are blackened and written on, the
    chroma under them set to grey; the rest of the picture is not read.
    """
    lines = text.split("\n")
    strip = strip_height(height, len(lines))
    line = strip // len(lines)
    luma = i420[:height]
    luma[height - strip:] = 16
    flat = i420.reshape(-1)
    quarter = (width // 2) * (height // 2)
    for plane in range(2):
        first = width * height + plane * quarter
        chroma = flat[first:first + quarter].reshape(height // 2, width // 2)
        chroma[(height - strip) // 2:] = 128
    scale = (line - 4) / 30.0    # Hershey simplex: about 30 px from top to baseline at 1.0
    for index, words in enumerate(lines):
        baseline = height - strip + (index + 1) * line - max(2, line // 6)
        cv2.putText(luma, words, (2, baseline), _FONT, scale, 235, 1, cv2.LINE_AA)
    return strip
