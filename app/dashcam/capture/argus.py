"""The Argus daemon's socket, which a CSI camera needs: is anyone answering there?

JetPack's camera server, nvargus-daemon, listens on ``/tmp/argus_socket``.
The service sees it through a bind mount into its private /tmp, made when
the service starts (``BindPaths=-/tmp/argus_socket``): a socket that was
missing then stays missing inside, and a daemon restarted later listens on
a new socket while the bind still holds the old one, where connect() is
refused. Only a restart of the service binds the new one (the watchdog's
``[service] camera-restart``). ``socket_problem`` says which of these it is,
for the capture worker's ``camera_lost`` reason.
"""

import errno
import os
import socket
import stat

ARGUS_SOCKET = "/tmp/argus_socket"
RESTART = ("under systemd the service restarts after [service] camera-restart seconds and binds "
           "the daemon's socket anew (sudo systemctl restart dashcam does it now)")


def socket_problem(path=ARGUS_SOCKET):
    """None when something listens at ``path``; else one line on what is wrong there.

    It connects and closes at once: only a listening socket accepts, and one
    of another type refuses with EPROTOTYPE, which still means it is alive.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return f"no Argus socket at {path} (nvargus-daemon not running, or started after this process: {RESTART})"
    if not stat.S_ISSOCK(mode):
        return f"{path} is not the Argus daemon's socket (not a socket)"
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(2.0)
    try:
        probe.connect(path)
    except OSError as error:
        if error.errno == errno.EPROTOTYPE:
            return None
        if error.errno == errno.ECONNREFUSED:
            return (f"nothing listens on {path}: nvargus-daemon stopped, or restarted since this "
                    f"process bound its socket ({RESTART})")
        return f"cannot reach the Argus daemon at {path}: {error.strerror or error}"
    finally:
        probe.close()
    return None


def diagnose_for(uri):
    """The extra check for ``uri``'s failures: the Argus socket for ``csi://``, else None."""
    return socket_problem if uri.lower().startswith("csi://") else None
