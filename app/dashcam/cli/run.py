"""``dashcam run``: the dashcam itself; camera -> detector -> tracks -> events -> SQLite."""

import argparse
import signal
import sys
import threading

from dashcam.cli.options import add_data_options, add_model_options, command_config, positive_seconds
from dashcam.paths import default_db_path
from dashcam.runtime import DEMO_URI, build_pipeline

DESCRIPTION = """\
Read a camera, detect and track objects, and log detections and events to SQLite
until stopped (Ctrl-C, SIGTERM, SIGABRT), for --duration seconds, or to the end of a file.
A status line comes at most once a second on stderr, a summary at the end.

With no source configured it runs the demo: the synthetic road ({demo}), the
bundled stand-in model on ONNX Runtime, and the store at {db}
(folder: $DASHCAM_DATA, else $XDG_DATA_HOME/dashcam, else ~/.local/share/dashcam).

sources: csi://0  v4l2:///dev/video0  rtsp://host/stream  clip.mp4  clip.mp4?realtime=0
         synthetic://?seed=7  synthetic://?seed=7&realtime=0 (as fast as possible)
         synthetic://?scenario=brake (the car ahead brakes hard: the forward-collision warning)
"""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)

EPILOG = """\
examples:
  dashcam run --duration 20
  dashcam run --source v4l2:///dev/video0 --db /mnt/ssd/dashcam.db --recordings /mnt/ssd/video
  dashcam run --source "synthetic://?seed=3&realtime=0" --duration 10 --preview demo.mp4
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "run", help="run the dashcam: capture, detect, track, alert, record, log",
        description=DESCRIPTION.format(demo=DEMO_URI, db=default_db_path()), epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", metavar="URI", help="what to read (default: [source] uri, "
                        "else the synthetic demo road)")
    parser.add_argument("--duration", metavar="S", type=positive_seconds,
                        help="stop after S seconds (default: run until stopped)")
    add_data_options(parser, config=None)
    parser.add_argument("--preview", metavar="window|OUT.mp4",
                        help="show frames with boxes, track ids and status in a window, or "
                             "write them to a video file")
    add_model_options(parser)
    parser.set_defaults(func=run)


def run(args):
    config = command_config(args)
    # Handlers go in before the (seconds-long) build, so a SIGTERM from systemd
    # at any moment still ends in an orderly stop, never in a killed writer.
    # SIGABRT too: systemd before 240 (JetPack 4.6's 237) has no WatchdogSignal=
    # and aborts a service whose watchdog pings stop. An abort() from native code
    # still ends the process: abort() raises SIGABRT again with the default action.
    stop = threading.Event()
    previous = {}
    for signum in STOP_SIGNALS:
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        pipeline = build_pipeline(config, source=args.source, db_path=args.db,
                                  preview=args.preview, model_path=args.model,
                                  stop_requested=stop, recordings=args.recordings)
        summary = pipeline.run(args.duration)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print_summary(summary, sys.stdout)
    return 1 if summary.get("failed") else 0


def print_summary(summary, out):
    def value(key, unit=""):
        v = summary.get(key)
        return "-" if v is None else f"{v}{unit}"

    out.write("run {} ({}) -> {}\n".format(summary["run_id"], summary["source"], summary["db"]))
    out.write("  {} s: frames in {}, processed {} ({} fps), dropped {} (by design: a frame "
              "inference had no time for gives way to a newer one)\n".format(
                  value("duration_s"), value("frames_in"), value("frames_processed"),
                  value("fps_processed"), value("frames_dropped")))
    out.write("  latency p50 {} p95 {} (added p50 {} p95 {}); inference p50 {}\n".format(
        value("latency_p50_ms", " ms"), value("latency_p95_ms", " ms"),
        value("added_latency_p50_ms", " ms"), value("added_latency_p95_ms", " ms"),
        value("infer_p50_ms", " ms")))
    out.write("  events {}, alerts {}, detection rows {}, commits {}, source reopened {}, "
              "stopped in {}\n".format(value("events"), value("alerts"), value("detection_rows"),
                                       value("commits"), value("source_reopened"),
                                       value("stop_s", " s")))
    recording = summary.get("recording")
    if recording:
        out.write("  recording {}: {}\n".format(recording["folder"], recording.get(
            "unavailable") or "{} segments, {} frames, {} dropped, {} missed while paused "
            "({})".format(recording["segments"], recording["frames"], recording["dropped"],
                          recording["missed_paused"], recording["encoder"])))
    parking = summary.get("parking")
    if parking and (parking["entered"] or parking.get("ignition_unavailable")):
        out.write("  parking: entered {entered} times, {parked_s} s parked, {events} events; "
                  "{frames_skipped} frames let go, {inferences_skipped} not inferred\n".format(
                      **parking))
        if parking.get("ignition_unavailable"):
            out.write("  warning: no ignition line ({})\n".format(parking["ignition_unavailable"]))
    if summary.get("preview"):
        out.write("  preview {}\n".format(summary["preview"]))
    imu = summary.get("imu")
    if imu:
        found = imu["events"]
        out.write("  {}imu {}: {} samples; impact {}, harsh braking {}, acceleration {}, "
                  "cornering {}; lost {}, reopened {}\n".format(
                      "" if imu["samples"] else "warning: ", imu["source"], imu["samples"],
                      found["impact"], found["harsh_braking"], found["harsh_acceleration"],
                      found["harsh_cornering"], imu["lost"], imu["reopened"]))
    if summary.get("button_locks"):
        out.write("  lock button: {} locks\n".format(summary["button_locks"]))
    if summary.get("uploads"):
        out.write("  uploads: {uploaded} clips sent ({bytes} bytes), {failed} failed, {waiting} "
                  "waiting for the next start\n".format(**summary["uploads"]))
    for name, counts in sorted((summary.get("alert_sinks") or {}).items()):
        if counts["failed"] or counts["unavailable"] or counts["dropped"]:
            out.write("  warning: alert sink {}: {delivered} delivered, {failed} failed, "
                      "{unavailable} unavailable, {dropped} dropped\n".format(name, **counts))
    for text in summary.get("warnings", ()):
        out.write("  warning: {}\n".format(text))
    for key in ("records_dropped", "failed_batches", "records_lost", "detections_lost",
                "events_lost"):
        if summary.get(key):
            out.write("  warning: {} {}\n".format(key.replace("_", " "), summary[key]))
    for name, error in sorted((summary.get("failed_workers") or {}).items()):
        if name != summary.get("failed"):
            out.write(f"  warning: {name} failed ({error}); the run went on without it\n")
    if summary.get("stuck"):
        out.write("  warning: threads that did not stop: {}\n".format(", ".join(summary["stuck"])))
    if summary.get("failed"):
        out.write("  error: worker {} failed (see the log)\n".format(summary["failed"]))
