"""HTTP for clip uploads, standard library only: a paced, streamed PUT and the endpoint's POST.

``put_file`` sends a file to a presigned URL (S3, MinIO, any server taking
PUT) in chunks, hashing what it sends, and never faster than a cap: before
each chunk it waits ``pace_delay`` (on the stop Event, so a stop cuts it
short). A presigned PUT cannot be resumed part-way (S3 has no ranged PUT), so
an upload that was cut off starts again from its first byte. Failures are
``TransferError``; ``retry`` says whether trying again may help (the network,
a 5xx, 408, 429) or not (403: an expired or wrong signature; 404; a 4xx).
"""

import hashlib
import http.client
import json
import os
import socket
from urllib.parse import urlsplit

from dashcam.errors import DashcamError

CHUNK_BYTES = 64 * 1024
MIN_CHUNK_BYTES = 4 * 1024
TIMEOUT_S = 30.0
RETRY_STATUSES = (408, 425, 429)


class TransferError(DashcamError):
    """An upload or an endpoint call that failed; ``retry``: whether another try may work."""

    def __init__(self, message, retry):
        DashcamError.__init__(self, message)
        self.retry = retry


class Stopped(Exception):
    """The stop Event was set during a transfer: nothing is wrong, it is taken up again later."""


def pace_delay(sent, elapsed_s, rate):
    """Seconds to wait before sending more, so that ``sent`` bytes after ``elapsed_s``
    seconds stay within ``rate`` bytes/s (0 or None: no cap)."""
    if not rate:
        return 0.0
    return max(0.0, sent / float(rate) - elapsed_s)


def chunk_size(rate):
    """Bytes per send: a tenth of a second at ``rate`` (so the cap is kept smoothly and a
    stop is seen soon), between 4 and 64 KiB."""
    if not rate:
        return CHUNK_BYTES
    return int(min(CHUNK_BYTES, max(MIN_CHUNK_BYTES, rate // 10)))


def retry_delay(attempts, first_s, cap_s=600.0):
    """Seconds before try ``attempts + 1``: ``first_s``, doubling per failed try, at most
    ``cap_s``."""
    return min(cap_s, first_s * 2 ** max(0, attempts - 1))


def connection(url, timeout=TIMEOUT_S):
    """``(HTTPConnection, target)`` for an ``http://`` or ``https://`` ``url``; the target is
    the path with the query (a presigned URL's signature)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransferError(f"not an http:// or https:// URL: {redact(url)}", retry=False)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    return kind(parts.hostname, parts.port, timeout=timeout), target


def redact(url):
    """``url`` without its query (a presigned URL's signature is a credential: not logged)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url[:40]


def put_file(path, url, rate, stop_event, clock, headers=None, opened=None):
    """PUT the file at ``path`` to ``url`` at most ``rate`` bytes/s; returns ``(size, sha256)``.

    ``headers``: extra request headers (an endpoint's ``{"headers": ...}``); ``clock``: the
    monotonic clock the pacing reads; ``opened(conn)``: called with the connection once open
    (so a stop can shut it from another thread). Raises ``Stopped`` when ``stop_event`` is set,
    ``TransferError`` when the server or the network fails.
    """
    conn, target = connection(url)
    size, digest = os.path.getsize(path), hashlib.sha256()
    step = chunk_size(rate)
    try:
        conn.putrequest("PUT", target, skip_accept_encoding=True)
        conn.putheader("Content-Length", str(size))
        for name, value in sorted((headers or {}).items()):
            conn.putheader(name, value)
        conn.endheaders()
        if opened is not None:
            opened(conn)
        started, sent = clock(), 0
        with open(path, "rb") as handle:
            while True:
                if stop_event.wait(pace_delay(sent, clock() - started, rate)):
                    raise Stopped()
                chunk = handle.read(step)
                if not chunk:
                    break
                conn.send(chunk)
                digest.update(chunk)
                sent += len(chunk)
        response = conn.getresponse()
        body = response.read(512).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as error:
        if stop_event.is_set():
            raise Stopped()
        raise TransferError("upload to {} failed: {}".format(
            redact(url), error or type(error).__name__), retry=True)
    finally:
        conn.close()
    check_status(response.status, response.reason, body, url)
    return size, digest.hexdigest()


def check_status(status, reason, body, url):
    """A ``TransferError`` for a response that is not 2xx, saying whether a retry may help."""
    if 200 <= status < 300:
        return
    retry = status >= 500 or status in RETRY_STATUSES
    hint = ("" if retry else
            ": the URL has expired or is not signed for PUT" if status == 403 else
            ": the server refused it")
    raise TransferError("{} answered {} {}{}{}".format(
        redact(url), status, reason, hint, f" ({body[:120]})" if body else ""), retry=retry)


def post_json(url, payload, token=None, timeout=TIMEOUT_S):
    """POST ``payload`` as JSON to ``url``; the JSON object it answers. ``token``: sent as
    ``Authorization: Bearer``. Raises ``TransferError``."""
    conn, target = connection(url, timeout)
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if token:
        headers["Authorization"] = "Bearer " + token
    try:
        conn.request("POST", target, body, headers)
        response = conn.getresponse()
        text = response.read(64 * 1024).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException, socket.timeout) as error:
        raise TransferError(f"upload endpoint {redact(url)} cannot be reached: {error}",
                            retry=True)
    finally:
        conn.close()
    check_status(response.status, response.reason, text.strip(), url)
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise TransferError(f"upload endpoint {redact(url)} answered no JSON object: "
                            f"{text[:120]!r}", retry=False)
    return answer
