"""``dashcam model fetch`` against a real HTTP server on this machine (NGC is not reachable
here, and DashCamNet may not be redistributed): it serves zips of models the tests make
with DashCamNet's contract (``onnx_models``), and the broken archives a user can meet."""

import io
import os
import sqlite3
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from dashcam.cli import main
from dashcam.inference.onnx_io import read_tensors
from onnx_models import colour_model
from volumes import small_volume

CALIBRATION = b"TRT-8201-EntropyCalibration2\ninput_1:0: 3c010a14\n"


class Served(BaseHTTPRequestHandler):
    files = {}     # path -> bytes, set per server
    requests = []

    def do_GET(self):   # noqa: N802 (http.server's name)
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """``(base URL, files dict, requests list)`` of a real HTTP server in a thread."""
    handler = type("Handler", (Served,), {"files": {}, "requests": []})
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="test-http")
    thread.start()
    try:
        yield "http://127.0.0.1:{}".format(httpd.server_address[1]), handler.files, handler.requests
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()


def archive(tmp_path, members):
    """A zip (bytes) of ``members``: name -> bytes, or name -> a callable making the file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, content in members.items():
            if callable(content):
                content = open(content(str(tmp_path / os.path.basename(name))), "rb").read()
            out.writestr(name, content)
    return buffer.getvalue()


def config_file(tmp_path, engines):
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[model]\nengine-dir = {}\n".format(engines))
    return str(ini)


def fetch(capsys, *args):
    status = main(["model", "fetch"] + list(args))
    out, err = capsys.readouterr()
    return status, out, err


def error_line(err):
    lines = [line for line in err.splitlines() if line.startswith("dashcam model: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_fetch_installs_dashcamnet_and_run_uses_the_printed_line(tmp_path, server, capsys):
    url, files, _ = server
    files["/dashcamnet.zip"] = archive(tmp_path, {
        "resnet18_dashcamnet_pruned.onnx": colour_model, "resnet18_pruned_int8.txt": CALIBRATION,
        "labels.txt": b"car\nbicycle\nperson\nroad_sign\n"})
    engines = tmp_path / "engines"
    status, out, err = fetch(capsys, "--url", url + "/dashcamnet.zip", "--accept-license",
                             "--config", config_file(tmp_path, engines))
    assert status == 0, err
    assert "Model EULA" in err and "downloading:" in err   # the terms, then progress
    model = engines / "dashcamnet_pruned_onnx_v1.0.5" / "resnet18_dashcamnet_pruned.onnx"
    assert "onnx-file = {}\n".format(model) in out and "int8-calib-file = " in out
    assert read_tensors(str(model))[0][0].shape == [1, 3, 544, 960]
    assert not [n for n in os.listdir(str(engines)) if n.startswith(".")]   # nothing left over
    ini = tmp_path / "run.ini"
    ini.write_text(out[out.index("[property]"):])
    db = tmp_path / "dashcam.db"
    assert main(["run", "--config", str(ini), "--db", str(db), "--duration", "1",
                 "--source", "synthetic://?seed=1&realtime=0&width=320&height=180"]) == 0
    with sqlite3.connect(str(db)) as conn:
        assert conn.execute("SELECT model FROM runs").fetchone()[0] == str(model)


def test_without_accepting_the_licence_and_no_terminal_it_downloads_nothing(tmp_path, server,
                                                                            capsys):
    url, files, requests = server
    files["/d.zip"] = archive(tmp_path, {"m.onnx": colour_model})
    status, _, err = fetch(capsys, "--url", url + "/d.zip", "--config",
                           config_file(tmp_path, tmp_path / "engines"))
    assert status == 2 and requests == []
    assert "--accept-license" in error_line(err) and "Model EULA" in err


def test_a_yes_on_a_terminal_accepts_the_licence():
    from dashcam.cli.model import accept_license
    from dashcam.errors import ModelError

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = io.StringIO()
    accept_license(False, Terminal("yes\n"), out)
    assert "[y/N]" in out.getvalue()
    with pytest.raises(ModelError, match="not accepted: nothing was downloaded"):
        accept_license(False, Terminal("\n"), io.StringIO())


def half(data):
    return data[:len(data) // 2]


def damaged(tmp_path):
    data = bytearray(archive(tmp_path, {"m.onnx": colour_model}))
    data[60] ^= 0xFF   # inside the compressed model: its CRC no longer matches
    return bytes(data)


@pytest.mark.parametrize("case, expected", [
    ("truncated", "is not a readable zip archive"),
    ("damaged", "is damaged (CRC mismatch)"),
    ("no model", "holds 0 .onnx files (labels.txt)"),
    ("wrong contract", "no input named input_1"),
    ("not onnx", "is not a readable ONNX model"),
    ("missing", "HTTP 404 Not Found"),
    ("hash", "is not the expected"),
])
def test_each_broken_download_gives_one_line(tmp_path, server, capsys, case, expected):
    url, files, _ = server
    make = {
        "truncated": lambda: half(archive(tmp_path, {"m.onnx": colour_model})),
        "damaged": lambda: damaged(tmp_path),
        "no model": lambda: archive(tmp_path, {"labels.txt": b"car\n"}),
        "wrong contract": lambda: archive(tmp_path, {
            "m.onnx": lambda p: colour_model(p, input_name="image")}),
        "not onnx": lambda: archive(tmp_path, {"m.onnx": b"\xff" * 64}),
        "hash": lambda: archive(tmp_path, {"m.onnx": colour_model}),
    }
    if case in make:
        files["/d.zip"] = make[case]()
    extra = ["--sha256", "0" * 64] if case == "hash" else []
    engines = tmp_path / "engines"
    status, out, err = fetch(capsys, "--url", url + "/d.zip", "--accept-license", "--config",
                             config_file(tmp_path, engines), *extra)
    assert status == 2 and out == ""
    assert expected in error_line(err)
    assert not os.path.exists(str(engines / "dashcamnet_pruned_onnx_v1.0.5"))


def test_a_full_disk_gives_one_line_and_leaves_nothing(tmp_path, server, capsys):
    url, files, _ = server
    files["/d.zip"] = archive(tmp_path, {"m.onnx": colour_model, "pad.bin": os.urandom(3 << 20)})
    with small_volume(tmp_path / "small", "1m") as engines:
        status, _, err = fetch(capsys, "--url", url + "/d.zip", "--accept-license", "--config",
                               config_file(tmp_path, engines))
        assert status == 2 and "no space left on the volume of" in error_line(err)
        assert os.listdir(engines) == []


def test_a_zip_already_downloaded_installs_from_its_path(tmp_path, capsys):
    path = tmp_path / "dashcamnet_pruned_onnx_v1.0.4.zip"
    path.write_bytes(archive(tmp_path, {"sub/m.onnx": colour_model}))
    status, out, _ = fetch(capsys, "--url", str(path), "--version", "pruned_onnx_v1.0.4",
                           "--accept-license", "--config", config_file(tmp_path, tmp_path / "e"))
    assert status == 0
    assert "onnx-file = {}".format(tmp_path / "e" / "dashcamnet_pruned_onnx_v1.0.4" / "sub" / "m.onnx") in out
