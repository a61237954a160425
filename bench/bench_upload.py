"""The upload bandwidth cap, measured: bytes/s that ``fleet.transfer.put_file`` achieves
against a local HTTP server at several caps (and uncapped), with the server's own clock.

    python bench/bench_upload.py               # 2 MiB at 64 KiB/s, 256 KiB/s, 1 MiB/s, none
    python bench/bench_upload.py --quick       # 512 KiB
"""

import argparse
import http.server
import os
import socketserver
import sys
import tempfile
import threading
import time

from dashcam.fleet.transfer import put_file


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def serve():
    """A PUT server that notes, per request, the bytes read and the seconds from the first
    byte of the body to the last (so connection set-up is not counted)."""
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_PUT(self):
            left, first = int(self.headers["Content-Length"]), None
            while left:
                chunk = self.rfile.read(min(65536, left))
                first = first or time.monotonic()
                left -= len(chunk)
            seen.append((int(self.headers["Content-Length"]), time.monotonic() - first))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--caps", default="65536,262144,1048576,0", help="bytes/s; 0: none")
    args = parser.parse_args(argv)
    size = (512 if args.quick else 2048) * 1024
    server, seen = serve()
    url = "http://127.0.0.1:{}/clip.mp4?X-Sig=bench".format(server.server_address[1])
    with tempfile.NamedTemporaryFile(suffix=".mp4") as clip:
        clip.write(os.urandom(size))
        clip.flush()
        print(f"{size} bytes per upload, load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print("cap B/s | client B/s | server B/s | server/cap")
        for cap in [int(c) for c in args.caps.split(",")]:
            started = time.monotonic()
            put_file(clip.name, url, cap, threading.Event(), time.monotonic)
            client = size / (time.monotonic() - started)
            body, seconds = seen[-1]
            rate = body / seconds
            print("{} | {:.0f} | {:.0f} | {}".format(cap or "none", client, rate,
                                                    f"{rate / cap:.3f}" if cap else "-"))
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
