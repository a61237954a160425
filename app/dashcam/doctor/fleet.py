"""The doctor's fleet line: can this machine reach the broker and the upload endpoint?

A TCP connection to each configured address is what is checked: it tells a
wrong host name or port, a network that is down and a firewall from a
working path, without sending anything (the broker's login and the
endpoint's token are the dashcam's own business once it runs). An address
out of reach is a warning, not a failure: the outbox keeps the messages and
uploads are retried until it answers.
"""

from urllib.parse import urlsplit

from dashcam.config.upload import mqtt_url
from dashcam.doctor.checks import OK, WARN, Check
from dashcam.fleet.transfer import redact

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "http": 80, "https": 443}


def check_fleet(host, ctx):
    targets = [(what, url) for what, url in (("broker", mqtt_url(ctx.config)),
                                             ("upload endpoint", ctx.config.upload.endpoint))
               if url]
    if not targets:
        return Check("fleet", OK, "off: no [mqtt] url, no [upload] endpoint", None)
    found, unreachable = [], False
    for what, url in targets:
        parts = urlsplit(url)
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme)
        except ValueError:   # a port that is not a number
            port = None
        reason = (host.reach(parts.hostname, port) if parts.hostname and port else
                  "no host and port in it")
        unreachable = unreachable or reason is not None
        found.append("{} {} {}".format(what, redact(url), "unreachable: " + reason if reason
                                       else "reachable"))
    if unreachable:
        return Check("fleet", WARN, "; ".join(found),
                     "check the URL, the network and that the server listens there (messages "
                     "wait in the outbox and uploads are retried meanwhile)")
    return Check("fleet", OK, "; ".join(found), None)
