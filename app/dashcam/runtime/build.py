"""The composition root of ``dashcam run``: every part built once, in dependency order.

``build_pipeline`` is a sequence of small named steps (as Frigate's ``init_*``),
each building one stage from the configuration and what the steps before it
made: store -> GPS -> event logger -> detector -> inference -> recording -> capture
-> uploads -> fleet link -> alerts -> IMU -> lock button -> parking -> service parts ->
preview. Recording comes before capture because
capture feeds it (every frame, or the CSI pipeline's ``tee``). A producer is
built with an empty ``FanOut`` that the consumers built after it join, so no
step refers to a part that does not exist yet and no part is changed after
it is built. If a step fails, one ``ExitStack`` closes everything built
before it (the store's lock, the detector, GPIO pins, the control socket).

Any part can be given instead of built (``GIVEN``): tests pass a slow backend,
a fake camera, gpiozero's ``MockFactory``, a blocking subscriber; ``speed`` is the
vehicle's speed getter (km/h, None without a fix) that the alert rules' speeds read.
"""

import contextlib
import functools
import sys
import time
import types

from dashcam.fanout import FanOut
from dashcam.runtime.pipeline import Pipeline
from dashcam.runtime.status import status_line

DEMO_URI = "synthetic://?seed=7"

# Parts ``build_pipeline`` takes instead of building them.
GIVEN = ("board", "store", "detector", "tracker", "open_source", "pin_factory", "open_port",
         "watchdog", "control", "frame_subscribers", "event_subscribers", "open_gps", "gps_state",
         "open_imu", "speed", "still", "fleet_client", "fleet_lock", "fleet_uploader")


class Parts:
    """What the steps have built so far; the ``Pipeline`` runs them."""

    def __init__(self, config, uri, model_path, board, given, clock, wall_clock):
        self.config, self.uri, self.model_path, self.given = config, uri, model_path, given
        self.board = board            # dashcam.board.Board: precision, encoder, LED pins
        self.clock, self.wall_clock = clock, wall_clock


def build_pipeline(config, source=None, db_path=None, recordings=None, preview=None,
                   model_path=None, status_stream=sys.stderr, stop_requested=None,
                   clock=time.monotonic, wall_clock=time.time, **given):
    """A ``Pipeline`` from the configuration; arguments given here win over it.

    ``source``: a URI, else ``[source] uri``, else the synthetic demo road.
    ``db_path`` and ``recordings``: found by ``paths.data_paths`` (else ``[store] path`` and
    ``[recording] path``, else the data folder). ``preview``: ``"window"`` or a video file
    path. ``given``: parts by the names in ``GIVEN``; the board is read once
    (``board.read_board``) unless given. Static mistakes (unknown scheme, missing or undecodable file, CSI
    without GStreamer) fail before anything is built; a camera that is merely absent is
    retried by the capture worker.
    """
    unknown = sorted(set(given) - set(GIVEN))
    if unknown:
        raise TypeError("build_pipeline() cannot take: " + ", ".join(unknown))
    from dashcam.board import read_board

    parts = Parts(config, source or config.source.uri or DEMO_URI, model_path,
                  given.get("board") or read_board(), given, clock, wall_clock)
    check_inputs(parts, preview)
    with contextlib.ExitStack() as stack:
        init_store(parts, stack, db_path, recordings)
        init_gps(parts)
        init_logger(parts)
        init_detector(parts, stack)
        init_inference(parts)
        init_recording(parts)
        init_capture(parts)
        init_uploads(parts)
        init_fleet(parts)
        init_alerts(parts, stack)
        init_imu(parts)
        init_button(parts, stack)
        init_parking(parts, stack)
        init_service(parts, stack)
        init_preview(parts, preview)
        stack.pop_all()   # all built: from here the pipeline's stop plan closes each part
    return Pipeline(parts, status_stream, stop_requested, clock, wall_clock)


def check_inputs(parts, preview):
    """What can be found wrong without building anything: the source, the preview, and
    alert rules that could never fire (on the frames the source is known to give)."""
    from dashcam.capture import check_source, expected_frame
    from dashcam.config.checks import check_rules
    from dashcam.preview import check_target

    from dashcam.synthetic.senses import sense_url

    if "open_source" not in parts.given:
        check_source(parts.uri)
    # what [gps] and [imu] open: ``auto`` and ``synthetic`` name the synthetic camera's car
    parts.gps_url = sense_url(parts.config.gps.source, parts.uri)
    parts.imu_url = sense_url(parts.config.imu.source, parts.uri)
    if "open_imu" not in parts.given and parts.imu_url not in ("", "none"):
        from dashcam.imu import check_imu_source
        check_imu_source(parts.imu_url)
    if preview:
        check_target(preview)
    source = parts.config.source
    check_rules(parts.config, *expected_frame(parts.uri, source.height, source.fps))


def init_store(parts, stack, db_path, recordings):
    """The store (its lock taken) and where its recordings go (``parts.paths``)."""
    from dashcam.paths import data_paths
    from dashcam.store import EventStore

    config, store = parts.config, parts.given.get("store")
    parts.paths = data_paths(config, store.path if store is not None else db_path, recordings)
    if store is None:
        store = EventStore(parts.paths.db, synchronous=config.store.synchronous,
                           detections=config.store.detections,
                           sample_interval=config.store.sample_interval)
        stack.callback(store.close)
    parts.store = store


def init_gps(parts):
    """``parts.gps``: the GPS state other stages read (``latest()``, ``speed_kmh()``) and
    its worker (None for ``[gps] source = none``), whose records go to ``parts.gps_out``."""
    from dashcam.gps import build_gps

    parts.gps_out = FanOut()
    parts.gps = build_gps(parts.config, parts.store, parts.gps_out, parts.given.get("open_gps"),
                          parts.given.get("gps_state"), parts.clock, parts.wall_clock,
                          url=parts.gps_url)
    # the vehicle's speed (km/h, None without a fix): alert rules' speeds, the recorded stamp
    parts.speed = parts.given.get("speed", parts.gps.state.speed_kmh)


def init_logger(parts):
    """The single writer; committed events go to ``parts.events``, which consumers join.
    It stamps each event and segment with the GPS fix at its time."""
    from dashcam.store import EventLoggerWorker

    section = parts.config.store
    parts.events = FanOut(parts.given.get("event_subscribers", ()))
    # What the store refused is held like what is queued, within four queues' worth.
    parts.logger = EventLoggerWorker(parts.store, queue_size=section.queue_size,
                                     min_commit_interval=section.min_commit_interval,
                                     publish=parts.events, clock=parts.clock,
                                     max_held=4 * section.queue_size,
                                     position=parts.gps.state.at)
    parts.gps_out.add(parts.logger)


def init_detector(parts, stack):
    """The detector (model, backend, post-processing) and the tracker."""
    from dashcam.inference import build_detector
    from dashcam.tracking import IouTracker

    parts.detector = parts.given.get("detector") or build_detector(parts.config, parts.model_path,
                                                                    board=parts.board)
    stack.callback(parts.detector.close)
    tracking = parts.config.tracking
    parts.tracker = parts.given.get("tracker") or IouTracker(
        tracking.iou_threshold, tracking.min_hits, tracking.max_age, tracking.history_size,
        tentative_misses=tracking.tentative_misses, motion=tracking.motion,
        confident=tracking.confident, duplicate_iou=tracking.duplicate_iou)


def init_inference(parts):
    """The newest-frame slot and the inference worker; ``parts.frames`` (each
    ``FrameRecord``) and ``parts.views`` (frames to show) for consumers to join."""
    from dashcam.inference import InferenceWorker
    from dashcam.rate import FrameRate
    from dashcam.slot import LatestFrame

    parts.slot = LatestFrame()
    parts.inference_rate = FrameRate()
    parts.frames = FanOut(parts.given.get("frame_subscribers", ()))
    parts.views = FanOut()
    parts.inference = InferenceWorker(parts.slot, parts.detector, parts.tracker,
                                      parts.logger.submit, publish=parts.frames,
                                      on_frame=parts.views, clock=parts.clock,
                                      rate=parts.inference_rate)


def init_recording(parts):
    """Recording's workers and event subscribers (clips, snapshots), or None when disabled."""
    from dashcam.recording import build_recording
    from dashcam.store import StoreReader

    parts.recording = build_recording(
        parts.config, parts.store, parts.logger.submit, parts.paths, parts.uri,
        parts.config.source.fps, functools.partial(StoreReader, parts.store.path),
        parts.clock, parts.wall_clock, parts.board, speed=parts.speed)
    if parts.recording:
        parts.events.add(*parts.recording.subscribers)


def init_capture(parts):
    """The capture worker: the source by URI, feeding the slot and recording."""
    from dashcam.capture import CaptureWorker, open_source
    from dashcam.inference import PreprocessAhead
    from dashcam.rate import FrameRate

    config, recording, net = parts.config, parts.recording, parts.detector.backend.spec
    # CSI frames come scaled to the network's input by the VIC, unless Python records them
    scale_to = None if recording and recording.publish else (net.width, net.height)
    source = parts.given.get("open_source") or functools.partial(
        open_source, parts.uri, config.source.width, config.source.height, config.source.fps,
        config.source.flip_method, tee=recording.tee if recording else None, scale_to=scale_to)
    ahead = None
    if config.run.preprocess_ahead != "never":
        ahead = PreprocessAhead(parts.detector.new_preprocessor, clock=parts.clock)
    parts.capture_rate = FrameRate()
    parts.capture = CaptureWorker(
        parts.uri, source, parts.slot, parts.logger.submit, config.source.reconnect_min,
        config.source.reconnect_max, prepare=ahead,
        prepare_live=config.run.preprocess_ahead == "always", clock=parts.clock,
        wall_clock=parts.wall_clock, publish=recording.publish if recording else None,
        rate=parts.capture_rate)


def init_fleet(parts):
    """With ``[mqtt] enabled``, the fleet link (``parts.fleet``): its outbox in the store, its
    worker, and an alert sink that ``init_alerts`` adds; else None. Given: ``fleet_client``
    (a paho client), ``fleet_lock`` (``lock(note)``; else ``fleet_lock``), ``fleet_uploader``
    (a factory taking ``publish_result``; else ``fleet_uploader``)."""
    from dashcam.fleet import build_fleet
    from dashcam.fleet.heartbeat import HeartbeatFigures
    from dashcam.runtime.status import take_snapshot
    from dashcam.store import StoreReader

    given = parts.given
    describe = HeartbeatFigures(functools.partial(take_snapshot, parts, parts.clock),
                                parts.recording, parts.paths.recordings)
    parts.fleet = build_fleet(
        parts.config.mqtt, parts.store, parts.logger.submit,
        functools.partial(StoreReader, parts.store.path), describe,
        lambda: parts.logger.run_id, client=given.get("fleet_client"),
        lock=given.get("fleet_lock", functools.partial(fleet_lock, parts)),
        make_uploader=given.get("fleet_uploader", functools.partial(fleet_uploader, parts)),
        position=parts.gps.state.at, clock=parts.clock, wall_clock=parts.wall_clock)


def fleet_lock(parts, note):
    """The fleet's ``lock`` command: a ``manual_lock``, its clip protected as a press's."""
    from dashcam import events as ev

    return parts.logger.submit(ev.manual_lock(parts.wall_clock(), "fleet", note))


def fleet_uploader(parts, publish_result):
    """The clip uploader for the fleet's ``upload`` command (None without one), its outcomes
    published on ``<prefix>/cmd/result`` with ``status`` done or failed."""
    if parts.uploads is None:
        return None

    def offer(result):
        return publish_result(dict(result, status="done" if result.get("ok") else "failed"))

    parts.upload_results.add(types.SimpleNamespace(offer=offer))
    return parts.uploads


def init_alerts(parts, stack):
    """Rules on every frame, sinks that deliver at once, the store's alert rows."""
    from dashcam.alerts import build_alerts
    from dashcam.alerts.serial_port import open_serial

    given = parts.given
    parts.alerts = build_alerts(parts.config, parts.store, parts.logger.submit,
                                pin_factory=given.get("pin_factory"),
                                open_port=given.get("open_port", open_serial),
                                clock=parts.clock, wall_clock=parts.wall_clock, board=parts.board,
                                speed=parts.speed,
                                extra_sinks=[parts.fleet.sink] if parts.fleet else ())
    for sink in parts.alerts.sinks:
        stack.callback(sink.close)
    parts.frames.add(parts.alerts.engine)
    parts.events.add(parts.alerts.watch)


def init_imu(parts):
    """With ``[imu] source``, the IMU worker (impacts, harsh driving, ``still()``), else None;
    the source opened by ``open_imu`` when given."""
    from dashcam.imu import build_imu

    parts.imu = build_imu(parts.config.imu, parts.logger.submit, parts.given.get("open_imu"),
                          parts.clock, parts.wall_clock, url=parts.imu_url)


def init_button(parts, stack):
    """With ``[button] pin``, the lock button on the LED's pin factory, else None."""
    from dashcam.button import build_button

    parts.button = build_button(parts.config.button, parts.config.led, parts.logger.submit,
                                parts.given.get("pin_factory"), parts.board, parts.clock,
                                parts.wall_clock)
    if parts.button is not None:
        stack.callback(parts.button.close)


def init_parking(parts, stack):
    """Parking mode (``[parking]``), or None: it sets the capture's and inference's rates,
    watches the frames and the committed events; the ignition line is closed on a failure."""
    from dashcam.parking import build_parking

    given = parts.given
    still = given.get("still", parts.imu.still if parts.imu else None)
    parts.parking = build_parking(parts.config, parts.logger.submit, parts.capture_rate,
                                  parts.inference_rate, pin_factory=given.get("pin_factory"),
                                  speed_kmh=parts.speed, still=still,
                                  board=parts.board, clock=parts.clock,
                                  wall_clock=parts.wall_clock)
    if parts.parking:
        if parts.parking.worker.ignition is not None:
            stack.callback(parts.parking.worker.ignition.close)
        parts.frames.add(parts.parking.worker)
        parts.events.add(parts.parking.forwarder)


def init_uploads(parts):
    """The clip uploader, or None without ``[mqtt] url`` or ``[upload] endpoint``; its
    outcomes go to ``parts.upload_results``, which the fleet link joins (an ``offer(dict)``)."""
    from dashcam.fanout import Subscriber
    from dashcam.fleet.upload import build_uploader
    from dashcam.store import StoreReader

    parts.upload_results = FanOut()
    parts.uploads = build_uploader(parts.config, parts.store, parts.logger.submit, parts.paths,
                                   functools.partial(StoreReader, parts.store.path),
                                   parts.upload_results, parts.clock, parts.wall_clock)
    if parts.uploads and parts.uploads.auto:
        parts.events.add(Subscriber("upload-requests", parts.uploads.on_event))


def init_service(parts, stack):
    """Under systemd, the watchdog; with ``[service] control-socket``, the socket's worker."""
    from dashcam.service import build_control, build_watchdog

    given = parts.given
    parts.watchdog = (given["watchdog"] if "watchdog" in given
                      else build_watchdog(parts.config, describe=status_line))
    parts.control = (given["control"] if "control" in given
                     else build_control(parts.config, parts.logger.submit, parts.wall_clock))
    for worker in parts.control:
        stack.callback(worker.close)


def init_preview(parts, target):
    """The preview worker for ``target`` (a window or a file), or None."""
    from dashcam.preview import build_preview

    parts.preview = build_preview(target, parts.config.run.preview_width) if target else None
    if parts.preview:
        parts.views.add(parts.preview)
