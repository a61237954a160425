"""A real HTTP server on localhost for upload tests: PUT stores the body, POST issues URLs.

It stands for S3/MinIO's presigned PUT (any path is taken; the query is kept as the
signature would be) and for an ``[upload] endpoint``. ``fail`` lists statuses to answer
the next PUTs with, in order, before taking them.
"""

import http.server
import json
import socketserver
import threading


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True   # (http.server.ThreadingHTTPServer is 3.7+)


class PutServer:
    def __init__(self):
        self.bodies, self.posts, self.headers, self.fail = [], [], [], []
        self.started, self.put_done = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_PUT(self):
                owner.started.set()
                length = int(self.headers["Content-Length"])
                with owner.lock:
                    status = owner.fail.pop(0) if owner.fail else 200
                    owner.headers.append(dict(self.headers))
                body = b""
                while len(body) < length:
                    chunk = self.rfile.read(min(65536, length - len(body)))
                    if not chunk:
                        return   # the client went away mid-body (a stop)
                    body += chunk
                if status == 200:
                    with owner.lock:
                        owner.bodies.append((self.path, body))
                    owner.put_done.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                length = int(self.headers["Content-Length"])
                request = json.loads(self.rfile.read(length))
                with owner.lock:
                    owner.posts.append((dict(self.headers), request))
                answer = json.dumps({"url": owner.url("/clips/{}.mp4?X-Sig=abc".format(
                    request["event_id"])), "headers": {"x-amz-meta-device": request["device"]}})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer.encode())

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="put-server")

    def url(self, path):
        return "http://127.0.0.1:{}{}".format(self.server.server_address[1], path)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
