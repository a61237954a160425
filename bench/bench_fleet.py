"""Load on one Mosquitto: N simulated vehicles replaying a recorded event stream, plus alert bursts.

    python bench/bench_fleet.py            # 200 vehicles, replay x1, x4, x16, x32, x64: 30 s each
    python bench/bench_fleet.py --quick    # 200 vehicles, x1 and x8: 8 s each

The event stream is recorded once, by ``dashcam run`` on the synthetic
``brake`` scenario (events and alerts of a real run, read back from its
store), and cached under ``--cache``. Each vehicle replays it from its own
phase, in a loop, as JSON messages at QoS 1 on ``fleet/<device>/events``,
``.../alerts`` and ``.../heartbeat`` (every 10 s), each with a per-device
sequence number and the wall time it was published; every ``--burst-every``
seconds a fifth of the fleet sends five alerts back to back (a pile-up seen
by many cars). Vehicles are paho clients, ``--procs`` processes each with its
share of them; consumers are ``--consumers`` processes subscribed to
``fleet/#`` (a shared subscription ``$share/bench/fleet/#`` when more than one).

Per step (a replay speed): messages/s offered and received, end-to-end latency
(publish call to consumer, one machine so one clock) p50/p95 for alerts and
for all, messages lost (sequence gaps) and duplicated, and the broker's CPU
from /proc/<pid>/stat. Steps go up until the fleet is too much: loss, or an
alert p95 above ``--max-p95-ms``. All processes share this machine's cores,
so the publishers and the consumer compete with the broker: the table says
how busy the broker itself was when the link broke.
"""

import argparse
import heapq
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TICKS = os.sysconf("SC_CLK_TCK")
HEARTBEAT_S = 10.0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """Mosquitto on a free localhost port with a generated configuration."""

    def __init__(self, folder):
        self.port = free_port()
        conf = os.path.join(folder, "mosquitto.conf")
        with open(conf, "w") as handle:
            handle.write(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                         "persistence false\nmax_queued_messages 100000\n"
                         "max_inflight_messages 100\nlog_dest stderr\nlog_type error\n")
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([binary, "-c", conf], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("mosquitto did not start: " +
                                     self.process.stderr.read().decode()[-400:])
                time.sleep(0.05)

    def cpu_s(self):
        """CPU seconds (user + system) the broker has used so far."""
        with open(f"/proc/{self.process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        return 0.0

    def close(self):
        self.process.terminate()
        self.process.wait(10)


def recorded_stream(cache, seconds):
    """``[(offset_s, kind, payload)]`` of a real run's events and alerts (recorded once)."""
    path = os.path.join(cache, f"stream-{seconds:d}s.json")
    if not os.path.exists(path):
        os.makedirs(cache, exist_ok=True)
        db = os.path.join(cache, f"record-{seconds:d}s", "dashcam.db")   # its own recordings/
        subprocess.run([sys.executable, "-m", "dashcam", "run", "--source",
                        "synthetic://?scenario=brake", "--duration", str(seconds), "--db", db,
                        "--config", os.devnull], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        from dashcam.store import StoreReader
        with StoreReader(db) as reader:
            rows = [r for r in reader.events() if r["type"] not in ("run_started", "run_stopped")]
        from dashcam.timestamps import parse_iso
        t0 = parse_iso(rows[0]["ts_start"])
        stream = [(round(parse_iso(r["ts_start"]) - t0, 3),
                   "alerts" if r["type"] == "alert" else "events",
                   {k: r[k] for k in ("type", "label", "track_id", "severity", "ts_start",
                                      "ts_end", "data")}) for r in rows]
        with open(path, "w") as handle:
            json.dump({"seconds": seconds, "stream": stream}, handle)
    with open(path) as handle:
        recorded = json.load(handle)
    return recorded["seconds"], recorded["stream"]


def schedule(stream, period, duration, speed, phase):
    """``(t, kind, payload)`` of one vehicle: the stream looped from ``phase``, ``speed`` x."""
    out = []
    for loop in range(int((duration * speed + phase) // period) + 1):
        for offset, kind, payload in stream:
            t = (loop * period + offset - phase) / speed
            if 0 <= t < duration:
                out.append((t, kind, payload))
    out += [(h / speed, "heartbeat", {"fps": 30.0, "outbox": 0})
            for h in range(int(phase % HEARTBEAT_S), int(duration * speed), int(HEARTBEAT_S))]
    return out


def vehicles(port, ids, stream, period, duration, speed, bursts, start_at, ready, results):
    """One process: paho clients for ``ids`` publishing their schedules from ``start_at``."""
    import paho.mqtt.client as mqtt

    rng = random.Random(ids[0])
    clients, plan, seq = {}, [], {}
    for device in ids:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device)
        client.max_queued_messages_set(0)
        client.connect("127.0.0.1", port, keepalive=60)
        client.loop_start()
        clients[device], seq[device] = client, 0
        for t, kind, payload in schedule(stream, period, duration, speed, rng.uniform(0, period)):
            plan.append((t, len(plan), device, kind, payload))
    for at in bursts:   # a fifth of the fleet sees the same pile-up
        for device in rng.sample(ids, max(1, len(ids) // 5)):
            plan += [(at, len(plan) + n, device, "alerts", {
                "type": "alert", "severity": "critical",
                "data": {"rule": "forward_collision", "burst": n}}) for n in range(5)]
    heapq.heapify(plan)
    ready.put(len(plan))
    sent, infos = {"events": 0, "alerts": 0, "heartbeat": 0}, []
    while time.time() < start_at:
        time.sleep(0.005)
    lag = 0.0   # how far behind its plan this process published: the generator's own limit
    while plan:
        t, _, device, kind, payload = heapq.heappop(plan)
        wait = start_at + t - time.time()
        if wait > 0:
            time.sleep(wait)
        lag = max(lag, -wait)
        seq[device] += 1
        message = dict(payload, device=device, seq=seq[device], id=f"{device}-{seq[device]}",
                       sent=time.time())
        infos.append(clients[device].publish(f"fleet/{device}/{kind}", json.dumps(message), qos=1))
        sent[kind] += 1
    deadline = time.time() + 30
    for info in infos:
        info.wait_for_publish(max(0.01, deadline - time.time()))
    unacked = sum(not info.is_published() for info in infos)
    for client in clients.values():
        client.disconnect()
        client.loop_stop()
    results.put({"sent": sent, "unacked": unacked, "lag": lag})


def consumer(port, shared, ready, stop, count, results):
    """One consumer: every message's (device, seq, kind, latency s, received at)."""
    import paho.mqtt.client as mqtt

    seen = []

    def on_message(client, userdata, message):
        now = time.time()
        body = json.loads(message.payload)
        seen.append((body["device"], body["seq"], message.topic.rsplit("/", 1)[1],
                     now - body["sent"], now))
        with count.get_lock():
            count.value += 1

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"consumer-{os.getpid()}")
    client.on_message = on_message
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(
        "$share/bench/fleet/#" if shared else "fleet/#", qos=1)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    ready.put(True)
    stop.wait()
    client.disconnect()
    client.loop_stop()
    results.put(seen)


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def step(broker, args, stream, period, speed):
    """One load level; its figures (dict)."""
    ctx = multiprocessing.get_context("fork")
    ready, results, consumed, stop = ctx.Queue(), ctx.Queue(), ctx.Queue(), ctx.Event()
    count = ctx.Value("q", 0)
    consumers = [ctx.Process(target=consumer, args=(broker.port, args.consumers > 1, ready, stop,
                                                    count, consumed))
                 for _ in range(args.consumers)]
    for process in consumers:
        process.daemon = True
        process.start()
    for _ in consumers:
        ready.get(timeout=30)
    ids = [f"veh{n:04d}" for n in range(args.vehicles)]
    start_at = time.time() + 3.0 + args.vehicles / 100.0
    bursts = [b for b in range(int(args.burst_every), int(args.duration), int(args.burst_every))]
    groups = [ctx.Process(target=vehicles, args=(broker.port, ids[i::args.procs], stream, period,
                                                 args.duration, speed, bursts, start_at, ready,
                                                 results)) for i in range(args.procs)]
    for process in groups:
        process.daemon = True
        process.start()
    planned = sum(ready.get(timeout=120) for _ in groups)
    while time.time() < start_at:
        time.sleep(0.01)
    cpu0, t0 = broker.cpu_s(), time.monotonic()
    load0 = os.getloadavg()[0]
    reports = [results.get(timeout=args.duration + 120) for _ in groups]
    elapsed, published_at = time.monotonic() - t0, time.time()
    cpu = broker.cpu_s() - cpu0
    total = sum(sum(r["sent"].values()) for r in reports)
    last, still = count.value, time.monotonic()
    while count.value < total and time.monotonic() - still < 5.0:   # draining, or stuck
        time.sleep(0.2)
        if count.value != last:
            last, still = count.value, time.monotonic()
    drain_s = time.time() - published_at
    stop.set()
    seen = [m for _ in consumers for m in consumed.get(timeout=60)]
    for process in groups + consumers:
        process.join(30)
    sent = {k: sum(r["sent"][k] for r in reports) for k in ("events", "alerts", "heartbeat")}
    per_device = {}
    for device, seq, _, _, _ in seen:
        per_device.setdefault(device, []).append(seq)
    received = sum(len(set(s)) for s in per_device.values())
    duplicates = len(seen) - received
    alerts = [lat for _, _, kind, lat, _ in seen if kind == "alerts"]
    every = [lat for _, _, _, lat, _ in seen]
    in_time = sum(at <= published_at for _, _, _, _, at in seen)
    return {"speed": speed, "vehicles": args.vehicles, "planned": planned, "sent": total,
            "offered_per_s": round(total / args.duration, 1),
            "received_per_s": round(in_time / elapsed, 1), "received": received,
            "drain_s": round(drain_s, 1),
            "lost": total - received, "duplicates": duplicates,
            "unacked": sum(r["unacked"] for r in reports),
            "publisher_lag_s": round(max(r["lag"] for r in reports), 2),
            "alerts": sent["alerts"], "alert_p50_ms": round(percentile(alerts, 50) * 1000, 1),
            "alert_p95_ms": round(percentile(alerts, 95) * 1000, 1),
            "all_p95_ms": round(percentile(every, 95) * 1000, 1),
            "broker_cpu_pct": round(100.0 * cpu / elapsed, 1),
            "broker_rss_mb": round(broker.rss_mb(), 1), "loadavg_before": round(load0, 2),
            "seconds": round(elapsed, 1)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="two short steps (about a minute)")
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--procs", type=int, default=4, help="publisher processes")
    parser.add_argument("--consumers", type=int, default=1,
                        help="consumer processes ($share/bench/fleet/# when above 1)")
    parser.add_argument("--steps", default="1,4,16,32,64", help="replay speeds, in order")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per step")
    parser.add_argument("--burst-every", type=float, default=10.0)
    parser.add_argument("--max-p95-ms", type=float, default=1000.0,
                        help="an alert p95 above this ends the stepping")
    parser.add_argument("--record-seconds", type=int, default=60)
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "dashcam-bench"))
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.duration, args.record_seconds = "1,8", 8.0, 30
        args.burst_every = 4.0
    try:
        import paho.mqtt.client  # noqa: F401
    except ImportError:
        raise SystemExit("bench_fleet needs paho-mqtt: pip install paho-mqtt")
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        raise SystemExit("bench_fleet needs Mosquitto: sudo apt install mosquitto")
    period, stream = recorded_stream(args.cache, args.record_seconds)
    kinds = [k for _, k, _ in stream]
    print(f"recorded stream: {len(stream)} messages in {period} s ({kinds.count('alerts')} "
          f"alerts) per vehicle, looped from a random phase; {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    folder = tempfile.mkdtemp(prefix="bench-fleet-")
    broker = Broker(folder)
    rows = []
    try:
        for speed in [float(s) for s in args.steps.split(",")]:
            row = step(broker, args, stream, period, speed)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if row["lost"] or row["unacked"] or row["alert_p95_ms"] > args.max_p95_ms:
                print(f"one broker on this machine stops being enough at replay x{speed:g} "
                      f"({row['offered_per_s']} msg/s offered)", flush=True)
                break
    finally:
        broker.close()
        shutil.rmtree(folder, ignore_errors=True)
    header = ("speed", "offered_per_s", "received_per_s", "alert_p50_ms", "alert_p95_ms",
              "all_p95_ms", "lost", "duplicates", "broker_cpu_pct", "broker_rss_mb",
              "publisher_lag_s", "drain_s")
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(str(row[k]) for k in header))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"args": vars(args), "steps": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
