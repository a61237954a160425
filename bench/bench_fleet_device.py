"""What the fleet link costs the device in a normal run: CPU of its threads, its share of the
store writer's time, and memory, against the same run without it.

``dashcam run``'s pipeline on the synthetic road (the stand-in model, the shipped rules and
one that fires for each car every 2 s, no recording: its encoder would dwarf the rest) for
``--seconds``, paced at ``--fps``, once with ``[mqtt]`` disabled and once enabled against a
local Mosquitto (started here, on a free port), each in its own process, alternately for
``--repetitions`` pairs. With the link: CPU seconds of its threads (the ``fleet-link``
worker, paho's network thread, the ``mqtt`` alert sink; read from
``/proc/self/task/<tid>/stat``), the time the store's writer spends in the outbox's kind
writers and event observer (``time.thread_time`` around them), the messages sent and
acknowledged, and each alert's latency as a subscriber on the broker receives it: from its
frame's capture (``@timestamp``) and from the fleet sink taking it (p50/p95, ms). Both: the
process's CPU and peak RSS (``ru_maxrss``).

    PYTHONPATH=app python bench/bench_fleet_device.py [--seconds 30] [--fps 10] [--repetitions 2]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

TICK = os.sysconf("SC_CLK_TCK")


def thread_cpu(native_id):
    """CPU seconds (user + system) of this process's thread ``native_id``."""
    with open(f"/proc/self/task/{native_id}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def timed(owner, name, spent):
    """Wrap ``owner.name`` to add the calling thread's CPU time in it to ``spent[0]``."""
    real = getattr(owner, name)

    def wrapper(*args, **kwargs):
        started = time.thread_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += time.thread_time() - started
    setattr(owner, name, wrapper)


def _pct(values, q):
    from dashcam.metrics import percentile

    value = percentile(sorted(values), q)
    return None if value is None else round(value, 1)


def child(mode, seconds, fps, url, folder):
    from dashcam.config import load_config
    from dashcam.runtime import build_pipeline

    ini = os.path.join(folder, f"{mode}.ini")
    with open(ini, "w") as handle:
        handle.write("[recording]\nenabled = false\n[led]\nenabled = false\n[run]\n"
                     "status-interval = 0\n[rule:bench-car]\nlabels = car\ncooldown = 2\n")
        if mode == "fleet":
            handle.write(f"[mqtt]\nenabled = true\nurl = {url}\ndevice-id = bench\n"
                         "heartbeat-interval = 5\n")
    config = load_config(ini)
    source = f"synthetic://?seed=5&scenario=brake&width=640&height=360&fps={fps}"
    pipeline = build_pipeline(config, source=source, db_path=os.path.join(folder, mode + ".db"),
                              status_stream=None)
    fleet = pipeline.parts.fleet
    writer, taken, received = [0.0], {}, {}
    if fleet:
        from broker import Collector
        from dashcam.timestamps import parse_iso

        port = int(url.rsplit(":", 1)[1])
        collector = Collector(type("At", (), {"port": port}), "dashcam/bench/alerts", "bench")
        collector.client.on_message = lambda c, u, m: received.setdefault(
            json.loads(m.payload)["alert_id"], (time.time(), json.loads(m.payload)))
        deliver = fleet.sink.deliver

        def stamped(alert):
            taken[alert.alert_id] = time.time()
            return deliver(alert)
        fleet.sink.deliver = stamped
        for name in ("observe", "write_outgoing", "write_acked", "write_gap", "write_link"):
            timed(fleet.index, name, writer)
        fleet.index.register(pipeline.store)   # the store calls the timed ones
        del pipeline.store._observers[0]
    cpu0 = time.process_time()
    pipeline.start()
    pipeline.wait(seconds)
    threads = {}
    if fleet:   # read while they run: a thread's /proc entry goes when it ends
        threads = {name: round(thread_cpu(thread.native_id), 3) for name, thread in (
            ("fleet-link", fleet.link._thread), ("mqtt sink", fleet.sink._thread),
            ("paho network", fleet.link.client._thread))}
    summary = pipeline.stop()
    for worker in pipeline.workers():   # a loaded machine: let a late one end before exit
        worker.join(60.0)
    result = {"mode": mode, "process_cpu_s": round(time.process_time() - cpu0, 3),
              "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
              "frames": summary["frames_processed"], "events": summary["events"],
              "alerts": summary.get("alerts")}
    if fleet:
        collector.close()
        from_capture = [1000 * (t - parse_iso(p["@timestamp"])) for t, p in received.values()]
        from_sink = [1000 * (t - taken[a]) for a, (t, _) in received.items() if a in taken]
        result["alert_latency_ms"] = {
            "alerts": len(received),
            "from_capture_p50": _pct(from_capture, 50), "from_capture_p95": _pct(from_capture, 95),
            "from_sink_p50": _pct(from_sink, 50), "from_sink_p95": _pct(from_sink, 95)}
        result["thread_cpu_s"] = threads
        result["writer_outbox_cpu_s"] = round(writer[0], 3)
        result["link"] = summary["fleet"]
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.seconds, args.fps, args.url, args.folder)
    from broker import Broker

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        broker = Broker(folder).start()
        try:
            for repetition in range(args.repetitions):
                for mode in ("plain", "fleet") if repetition % 2 == 0 else ("fleet", "plain"):
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", mode, "--seconds", str(args.seconds),
                         "--fps", str(args.fps), "--url", broker.url, "--folder", folder],
                        check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
                    runs.append(json.loads(out.strip().splitlines()[-1]))
                    os.unlink(os.path.join(folder, mode + ".db"))
        finally:
            broker.stop()

    def median(mode, key):
        return statistics.median(r[key] for r in runs if r["mode"] == mode)

    fleet = [r for r in runs if r["mode"] == "fleet"]
    report = {
        "seconds": args.seconds, "fps": args.fps, "repetitions": args.repetitions,
        "load_1min": os.getloadavg()[0],
        "process_cpu_s": {m: median(m, "process_cpu_s") for m in ("plain", "fleet")},
        "max_rss_mib": {m: median(m, "max_rss_mib") for m in ("plain", "fleet")},
        "fleet_threads_cpu_s": statistics.median(sum(r["thread_cpu_s"].values()) for r in fleet),
        "writer_outbox_cpu_s": statistics.median(r["writer_outbox_cpu_s"] for r in fleet),
        "runs": runs,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
