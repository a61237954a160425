"""Fault: the control socket flooded while the forward-collision warning is in flight.

The real ``dashcam run`` (a process of its own, default configuration but for
the serial sink, which writes to a pty pair whose far end this script reads as
a receiver would) on the brake scenario (its frames written to an MPEG-4 file
first and read at ``--fps``, as from a camera), with ``[service]
control-socket`` set. Once the run is up, ``--senders`` processes send valid
``export_finished`` datagrams to the socket as fast as it takes them for
``--seconds``; the run goes on ``TAIL_S`` more (so the last burst of refusals
is recorded) and is stopped with SIGTERM, as systemd stops it.

Figures (one JSON object): datagrams sent, accepted (``export_finished``
events) and refused by reason (``control_refused`` events, one per burst),
events committed during the run, the store's growth (file and WAL) over the
flood, records the event logger dropped, frames processed; forward-collision
alerts raised (in the store) against those written on the serial line, and
each one's delay from raised (its frame's capture time plus ``raised_ms``) to
its line read from the pty (this script's clock), and as the sink measured it
(written minus raised). Acceptance: every collision alert delivered, within
100 ms of being raised.

    PYTHONPATH=app python bench/faults/control_flood.py [--quick] [--seconds 20] [--fps 10]
"""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
sys.path.insert(0, APP)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from bench_alerts import scenario_video  # noqa: E402
from dashcam.alerts.nmea import hhmmss  # noqa: E402
from dashcam.metrics import percentile  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.store import StoreReader, read_alerts  # noqa: E402
from dashcam.timestamps import parse_iso  # noqa: E402

FCW = "forward-collision"
TAIL_S = 4.0          # after the flood: the burst gap (2 s) and then some
ACCEPT_MS = 100.0
MESSAGE = json.dumps({"type": "export_finished", "ok": True, "folder": "/media/x/dashcam",
                      "files": 12, "bytes": 734003200}).encode()


def flood(path, seconds):
    """Send ``MESSAGE`` to ``path`` as fast as it is taken, for ``seconds``; print the counts."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(0.5)
    sent = failed = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            sock.sendto(MESSAGE, path)
            sent += 1
        except OSError:   # timed out on a full queue, or the socket is gone
            failed += 1
    print(json.dumps({"sent": sent, "failed": failed}), flush=True)


class LineReader(threading.Thread):
    """The far end of the serial line: each line with the time (``time.time``) it was read."""

    def __init__(self, master):
        threading.Thread.__init__(self, name="pty-reader", daemon=True)
        self.master, self.lines, self.stopping = master, [], threading.Event()

    def run(self):
        pending = b""
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            now = time.time()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            self.lines.extend((now, line.strip().decode("ascii", "replace")) for line in lines)


def store_bytes(db):
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def wait_for(condition, timeout, what):
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def started(db):
    try:
        with StoreReader(db) as reader:
            return reader.count("detections") > 0
    except Exception:   # not created yet
        return False


def run_flooded(folder, video, seconds, senders):
    """One ``dashcam run`` in ``folder`` on ``video``, flooded by ``senders`` processes."""
    os.makedirs(folder)
    db = os.path.join(folder, "dashcam.db")
    control = os.path.join(folder, "control.sock")
    master, slave = os.openpty()
    ini = os.path.join(folder, "flood.ini")
    with open(ini, "w") as handle:
        handle.write(f"[run]\nstatus-interval = 0\n[serial]\nenabled = true\n"
                     f"port = {os.ttyname(slave)}\n[service]\ncontrol-socket = {control}\n")
    reader = LineReader(master)
    reader.start()
    run = subprocess.Popen(
        [sys.executable, "-m", "dashcam", "run", "--source", video, "--db", db, "--config", ini,
         "--model", default_model_path()], env=dict(os.environ, PYTHONPATH=APP),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    try:
        wait_for(lambda: started(db) and os.path.exists(control), 120, "the run to start")
        before = store_bytes(db)
        flooders = [subprocess.Popen([sys.executable, __file__, "--flood", control,
                                      str(seconds)], stdout=subprocess.PIPE) for _ in range(senders)]
        counts = [json.loads(f.communicate(timeout=seconds + 60)[0]) for f in flooders]
        if not senders:
            time.sleep(seconds)   # the baseline: the same run, not flooded
        after = store_bytes(db)
        time.sleep(TAIL_S)   # the run goes on: the last burst of refusals is recorded
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
        reader.stopping.set()
        reader.join(5)
        os.close(slave)
        os.close(master)
    if run.returncode != 0:
        raise SystemExit(f"dashcam run failed ({run.returncode}):\n{err}")
    return db, counts, before, after, reader.lines


def figures(db, counts, before, after, lines, seconds):
    with StoreReader(db) as reader:
        run = reader.runs()[-1]
        summary = json.loads(run["summary"])
        accepted = len(reader.events(types=["export_finished"]))
        bursts = reader.events(types=["control_refused"])
        events = len(reader.events(run_id=run["id"]))
        alerts = read_alerts(reader.conn, rules=[FCW])
    arrived = {}
    for t_read, line in lines:
        fields = line.split("*")[0].split(",")
        if len(fields) >= 9 and fields[1] == "ALR":
            arrived.setdefault((fields[2], fields[4], fields[8]), t_read)
    delays, in_sink, missing = [], [], 0
    for row in alerts:
        t_read = arrived.get((hhmmss(parse_iso(row["ts"])), FCW, str(row["track_id"])))
        serial = next(d for d in row["deliveries"] if d["sink"] == "serial")
        if t_read is None or serial["status"] != "delivered":
            missing += 1
            continue
        raised_ms = row["data"].get("raised_ms")   # None: a dashcam from before it was kept
        if raised_ms is not None:
            delays.append(1000.0 * (t_read - parse_iso(row["ts"])) - raised_ms)
            in_sink.append(serial["latency_ms"] - raised_ms)
    refused = {reason: sum(b["data"][reason] for b in bursts)
               for reason in ("rate_limited", "foreign_sender", "invalid")}
    ms = lambda values, q: round(percentile(values, q), 2) if values else None  # noqa: E731
    return {
        "flood_s": seconds,
        "datagrams_sent": sum(c["sent"] for c in counts),
        "sends_failed": sum(c["failed"] for c in counts),
        "accepted": accepted, "refused": refused, "control_refused_events": len(bursts),
        "events_committed": events, "store_growth_bytes": after - before,
        "records_dropped": summary["records_dropped"],
        "frames_processed": summary["frames_processed"], "fps": summary["fps_processed"],
        "collision_alerts_raised": len(alerts),
        "collision_alerts_delivered": len(alerts) - missing,
        "collision_alerts_missing": missing,
        "delay_raised_to_line_ms": {"p50": ms(delays, 50), "p95": ms(delays, 95),
                                    "max": ms(delays, 100)},
        "delay_raised_to_written_in_sink_ms": {"p50": ms(in_sink, 50), "max": ms(in_sink, 100)},
        "accepted_within_100ms": bool(delays) and missing == 0 and max(delays) <= ACCEPT_MS,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 6 s flood (one repetition)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the flood")
    parser.add_argument("--fps", type=float, default=10.0, help="the scenario file's pace")
    parser.add_argument("--senders", type=int, default=2, help="flooding processes")
    parser.add_argument("--baseline", action="store_true",
                        help="also the same run without the flood, for comparison")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    parser.add_argument("--flood", nargs=2, metavar=("SOCKET", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.flood:
        flood(args.flood[0], float(args.flood[1]))
        return 0
    seconds = 6.0 if args.quick else args.seconds
    folder = tempfile.mkdtemp(prefix="fault_flood_")
    load_before = open("/proc/loadavg").read().split()[:3]
    try:
        # the scene must outlast start-up, the flood and the tail
        video = scenario_video(folder, seconds + TAIL_S + 30.0, args.fps)
        result = figures(*run_flooded(os.path.join(folder, "flooded"), video, seconds,
                                      args.senders), seconds)
        if args.baseline:
            result["baseline"] = figures(*run_flooded(os.path.join(folder, "baseline"), video,
                                                      seconds, 0), seconds)
    finally:
        if not args.keep:
            shutil.rmtree(folder)
    result.update(load_before=load_before, load_after=open("/proc/loadavg").read().split()[:3])
    print(json.dumps(result, indent=2))
    return 0 if result["accepted_within_100ms"] else 1


if __name__ == "__main__":
    sys.exit(main())
