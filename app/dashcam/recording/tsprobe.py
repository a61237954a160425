"""What an MPEG-TS segment holds, read from its packets alone (no decoder, no PyAV).

A segment left by a crash or a power cut ends wherever the writes stopped: in
the middle of a 188-byte TS packet, of an access unit, or in a block of zeros
(a file system that had allocated but not written it). ``probe`` walks the
packets from the start and stops at the first one that breaks the format (no
sync byte, a continuity counter that skips on the video stream); the access
units (one PES packet each, as both FFmpeg's and GStreamer's muxers write
H.264) that started before that point are the frames. The last one may have
been cut short, so ``good_end`` is where it began: truncating there leaves
only whole frames. This costs one sequential read, so start-up recovery needs
neither PyAV nor GStreamer (a Jetson Nano on Python 3.6 has neither wheel).
"""

from collections import namedtuple

PACKET = 188
SYNC = 0x47
PTS_HZ = 90000   # MPEG-TS timestamps count a 90 kHz clock
# PMT stream types of video codecs (ISO 13818-1 table 2-34): MPEG-2, H.264, H.265
VIDEO_STREAM_TYPES = (0x02, 0x1B, 0x24)


class Probe(namedtuple("Probe", "packets video_pid frames pts clean_end good_end good_frames")):
    """``frames``: access units that start in the readable part, with ``pts`` (90 kHz ticks)
    each; ``clean_end``: bytes up to the last well-formed packet; ``good_end`` /
    ``good_frames``: the same without the last access unit, which may be cut short."""

    __slots__ = ()

    @property
    def readable(self):
        return self.video_pid is not None and self.frames > 0

    def duration(self, frames=None):
        """Seconds covered by the first ``frames`` (default all) access units: first to
        last time stamp plus one frame interval (the median step)."""
        pts = sorted(self.pts[:self.frames if frames is None else frames])
        if not pts:
            return 0.0
        steps = sorted(b - a for a, b in zip(pts, pts[1:]) if b > a)
        step = steps[len(steps) // 2] if steps else 0
        return (pts[-1] - pts[0] + step) / float(PTS_HZ)


def _payload(packet):
    """(payload unit start, pid, continuity counter, has payload, payload bytes)."""
    pusi = bool(packet[1] & 0x40)
    pid = ((packet[1] & 0x1F) << 8) | packet[2]
    control = (packet[3] >> 4) & 0x3
    counter = packet[3] & 0x0F
    start = 4
    if control & 0x2:
        start = 5 + packet[4]
    has_payload = bool(control & 0x1) and start < PACKET
    return pusi, pid, counter, has_payload, packet[start:] if has_payload else b""


def _section(payload):
    """A PSI section's bytes after its pointer field, or None when too short."""
    if not payload:
        return None
    start = 1 + payload[0]
    section = payload[start:]
    return section if len(section) >= 8 else None


def _pmt_pids(section):
    """PMT PIDs listed by a PAT section (program 0, the network PID, left out)."""
    length = ((section[1] & 0x0F) << 8) | section[2]
    body = section[8:3 + length - 4]   # after the header, before the CRC
    pids = set()
    for i in range(0, len(body) - 3, 4):
        if (body[i] << 8 | body[i + 1]) != 0:
            pids.add(((body[i + 2] & 0x1F) << 8) | body[i + 3])
    return pids


def _video_pid(section):
    """The first video elementary stream's PID in a PMT section, or None."""
    length = ((section[1] & 0x0F) << 8) | section[2]
    info = ((section[10] & 0x0F) << 8) | section[11]
    body, i = section[12 + info:3 + length - 4], 0
    while i + 5 <= len(body):
        stream_type, pid = body[i], ((body[i + 1] & 0x1F) << 8) | body[i + 2]
        if stream_type in VIDEO_STREAM_TYPES:
            return pid
        i += 5 + (((body[i + 3] & 0x0F) << 8) | body[i + 4])
    return None


def _pes_pts(payload):
    """The PTS of a PES header (90 kHz), or None when it has none."""
    if len(payload) < 14 or payload[:3] != b"\x00\x00\x01" or not payload[7] & 0x80:
        return None
    b = payload[9:14]
    return (((b[0] >> 1) & 0x07) << 30) | (b[1] << 22) | ((b[2] >> 1) << 15) | (b[3] << 7) | (b[4] >> 1)


def probe(path, chunk=PACKET * 2048):
    """A ``Probe`` of the TS file at ``path`` (read in chunks of ``chunk`` bytes)."""
    pmt_pids, video_pid = set(), None
    starts, pts = [], []      # byte offset and PTS of each access unit
    counter = None
    offset = clean_end = packets = 0
    with open(path, "rb") as handle:
        while True:
            data = handle.read(chunk)
            if not data:
                break
            whole = len(data) - len(data) % PACKET
            broken = False
            for i in range(0, whole, PACKET):
                packet = data[i:i + PACKET]
                if packet[0] != SYNC:
                    broken = True
                    break
                pusi, pid, cc, has_payload, payload = _payload(packet)
                if pid == video_pid and has_payload:
                    if counter is not None and cc != (counter + 1) % 16:
                        broken = True   # a lost or repeated packet: stop before it
                        break
                    counter = cc
                if pusi and pid == 0 and video_pid is None:
                    section = _section(payload)
                    if section is not None and section[0] == 0x00:
                        pmt_pids = _pmt_pids(section)
                elif pusi and pid in pmt_pids and video_pid is None:
                    section = _section(payload)
                    if section is not None and section[0] == 0x02:
                        video_pid = _video_pid(section)
                elif pusi and pid == video_pid:
                    starts.append(offset + i)
                    pts.append(_pes_pts(payload))
                packets += 1
                clean_end = offset + i + PACKET
            if broken or whole < len(data):
                break
            offset += len(data)
    good_end = starts[-1] if starts else 0
    return Probe(packets, video_pid, len(starts), [p for p in pts if p is not None], clean_end,
                 good_end, max(0, len(starts) - 1))
