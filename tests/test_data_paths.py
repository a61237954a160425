"""One way to find the store and the recordings folder (``paths.data_paths``), for every
command: the rules, the mistakes a user can make, and each command on a store that only the
configuration's ``[store] path`` points at."""

import glob
import json
import os

import pytest

from dashcam import paths
from dashcam.cli import main
from dashcam.config import load_config
from dashcam.errors import DashcamError
from dashcam.paths import DataPaths, data_paths
from dashcam.store import StoreReader

# Each command that touches the store or the recordings, with what it needs besides.
COMMANDS = {
    "run": ["run", "--source", "synthetic://?seed=1&realtime=0", "--duration", "0.2"],
    "events": ["events"],
    "alerts": ["alerts"],
    "clips": ["clips"],
    "clip": ["clip", "1", "-o", "clip.mp4"],
    "export": ["export", "."],
    "doctor": ["doctor"],
    "calibrate": ["calibrate", "--from-recordings", "3", "-o", "cache.txt"],
}
READ_ONLY = ("events", "alerts", "clips")
WITH_RECORDINGS = ("run", "clips", "clip", "export", "doctor", "calibrate")


def write_ini(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_the_command_line_wins_then_the_configuration_then_the_data_folder(tmp_path):
    ini = write_ini(tmp_path / "etc" / "dashcam.ini", "[store]\npath = data/d.db\n"
                                                      "[recording]\npath = /srv/video\n")
    configured = load_config(ini)
    plain = load_config(os.devnull)
    env = {"DASHCAM_DATA": str(tmp_path / "env")}
    assert data_paths(configured, "/x/a.db", "/x/v", env) == DataPaths("/x/a.db", "/x/v")
    # [store] path is relative to the configuration file; [recording] path wins over "beside"
    assert data_paths(configured, environ=env) == DataPaths(
        str(tmp_path / "etc" / "data" / "d.db"), "/srv/video")
    assert data_paths(configured, db="/x/a.db", environ=env).recordings == "/srv/video"
    assert data_paths(plain, environ=env) == DataPaths(
        str(tmp_path / "env" / "dashcam.db"), str(tmp_path / "env" / "recordings"))
    assert data_paths(plain, db=str(tmp_path / "a" / "b.db"), environ=env).recordings == \
        str(tmp_path / "a" / "recordings")
    xdg = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert data_paths(plain, environ=xdg).db == str(tmp_path / "xdg" / "dashcam" / "dashcam.db")
    home = data_paths(plain, environ={}).db
    assert home == os.path.join(os.path.expanduser("~"), ".local", "share", "dashcam", "dashcam.db")


def test_a_store_path_that_is_a_folder_names_where_it_came_from(tmp_path):
    ini = write_ini(tmp_path / "dashcam.ini", f"[store]\npath = {tmp_path}\n")
    with pytest.raises(DashcamError, match=r"^\[store\] path .* is a folder: give the store's "):
        data_paths(load_config(ini))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_db_that_is_a_folder_is_one_line_and_exit_2(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = COMMANDS[command] + ["--config", os.devnull, "--db", str(tmp_path)]
    assert main(argv) == 2
    err = one_line_error(capsys)
    assert f"--db {tmp_path} is a folder: give the store's file path (such as " \
           f"{tmp_path / 'dashcam.db'})" in err


@pytest.mark.parametrize("command", WITH_RECORDINGS)
def test_recordings_that_is_a_file_is_one_line_and_exit_2(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a folder\n")
    argv = COMMANDS[command] + ["--config", os.devnull, "--db", str(tmp_path / "d.db"),
                                "--recordings", "notes.txt"]
    assert main(argv) == 2
    assert "--recordings notes.txt is a file: give a folder for the recordings" in \
        one_line_error(capsys)


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_store_in_a_folder_that_does_not_exist_says_how_to_make_one(command, tmp_path, capsys):
    db = str(tmp_path / "no" / "such" / "dashcam.db")
    assert main([command, "--config", os.devnull, "--db", db]) == 2
    err = one_line_error(capsys)
    assert f"no store at {db}" in err and "dashcam run" in err
    assert not os.path.exists(str(tmp_path / "no"))   # a reader creates nothing


class Resolved(DashcamError):
    """Raised by the spy once a command has asked where its store is."""


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_finds_its_paths_through_data_paths(command, tmp_path, capsys,
                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    ini = write_ini(tmp_path / "dashcam.ini", "[store]\npath = spied.db\n")
    asked = []

    def spy(config, db=None, recordings=None, environ=None):
        asked.append(config.path(config.store.path))
        raise Resolved("resolved")

    monkeypatch.setattr(paths, "data_paths", spy)
    assert main(COMMANDS[command] + ["--config", ini]) == 2
    assert "error: resolved" in capsys.readouterr().err
    assert asked == [str(tmp_path / "spied.db")]


@pytest.fixture
def configured_only(tmp_path, monkeypatch):
    """A configuration whose ``[store] path`` is the only pointer to the store: no --db, and
    ``$DASHCAM_DATA`` names another folder."""
    monkeypatch.setenv("DASHCAM_DATA", str(tmp_path / "elsewhere"))
    monkeypatch.chdir(tmp_path)
    ini = write_ini(tmp_path / "conf" / "dashcam.ini",
                    "[store]\npath = store/dashcam.db\n[run]\nstatus-interval = 0\n"
                    "[recording]\nsegment-seconds = 1\nclips = *\n")
    return ini, str(tmp_path / "conf" / "store" / "dashcam.db"), \
        str(tmp_path / "conf" / "store" / "recordings")


def test_every_command_finds_the_store_that_only_the_configuration_names(
        configured_only, tmp_path, tiny_model_path, capsys, monkeypatch):
    pytest.importorskip("av", reason="PyAV records the segments (no wheel for 3.6)")
    ini, db, recordings = configured_only
    run = ["run", "--config", ini, "--model", tiny_model_path, "--duration", "4",
           "--source", "synthetic://?seed=5&width=320&height=180&fps=30"]
    assert main(run) == 0
    assert f"-> {db}" in capsys.readouterr().out
    assert glob.glob(os.path.join(recordings, "run-000001", "*.ts"))

    assert main(["events", "--config", ini, "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    assert [e["type"] for e in events][:1] == ["run_started"] and events[-1]["run_id"] == 1

    assert main(["alerts", "--config", ini, "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert len(alerts) == len([e for e in events if e["type"] == "alert"])

    assert main(["clips", "--config", ini, "--json"]) == 0
    clips = json.loads(capsys.readouterr().out)
    assert clips and all(c["missing"] == 0 for c in clips)   # their segments are in recordings/

    out = str(tmp_path / "clip.mp4")
    assert main(["clip", str(clips[0]["event_id"]), "-o", out, "--config", ini]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: event {clips[0]['event_id']} ")
    assert os.path.getsize(out) > 0

    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["export", str(stick), "--config", ini, "--with-clips"]) == 0
    [snapshot] = glob.glob(str(stick / "dashcam-*" / "*" / "dashcam.db"))
    with StoreReader(snapshot) as reader:
        assert len(reader.events()) == len(events)
    assert len(glob.glob(str(stick / "dashcam-*" / "clips" / "*.mp4"))) == len(clips)
    capsys.readouterr()

    assert main(["doctor", "--config", ini, "--json"]) in (0, 1)
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["database"]["status"] == "ok"
    assert checks["database"]["detail"].startswith(db + ": ")

    # TensorRT and CUDA are not on this machine: their test doubles calibrate, on the frames
    # of the real segments in the recordings folder the configuration implies.
    from cuda_double import Gpu
    from dashcam.board import Board
    from dashcam.cli import calibrate
    from dashcam.inference.engine import probe_accelerator
    from tensorrt_double import tensorrt_module

    gpu = Gpu()
    double = probe_accelerator(gpu.import_module(tensorrt_module("8.6", gpu)), board=Board(""))
    monkeypatch.setattr(calibrate, "probe_accelerator", lambda: double)
    cache = str(tmp_path / "cache.txt")
    assert main(["calibrate", "--from-recordings", "3", "-o", cache, "--onnx", tiny_model_path,
                 "--config", ini]) == 0
    assert f"calibrating on 3 frames from recordings in {recordings} (" in \
        capsys.readouterr().out
    assert os.path.isfile(cache)
    assert not os.path.exists(str(tmp_path / "elsewhere"))   # $DASHCAM_DATA was never used
