"""The MQTT client (paho-mqtt) as the fleet link needs it, on paho 1.x and 2.x alike.

paho-mqtt 2.0 (Python 3.7+) changed the ``Client`` constructor: it takes a
``CallbackAPIVersion`` first, and version 2's callbacks have other arguments.
A Jetson Nano (JetPack 4.6, Python 3.6) has paho-mqtt 1.6.1 at most, so
``new_client`` makes either, and the link's callbacks take both shapes
(``failed``, ``disconnect_code``). Reconnecting is paho's (``loop_start``, ``connect_async``: a broker
that refuses at the start is retried like one that went away), between
``RECONNECT_MIN_S`` and ``RECONNECT_MAX_S``.
"""

from dashcam.errors import ConfigError

RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30


def new_client(client_id, clean_session=True):
    """A paho ``Client``, with version 2 callbacks where paho has them. The link's has a
    clean session: the outbox, not the broker, keeps what is unsent."""
    import paho.mqtt.client as mqtt

    if hasattr(mqtt, "CallbackAPIVersion"):   # paho-mqtt 2.x
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                           clean_session=clean_session)
    return mqtt.Client(client_id=client_id, clean_session=clean_session)


def failed(code):
    """Whether a connect or disconnect reason is a failure: paho 1.x gives an int (0: none),
    2.x a ``ReasonCode``."""
    return bool(code.is_failure if hasattr(code, "is_failure") else code != 0)


def disconnect_code(args):
    """The reason among a disconnect callback's arguments after ``userdata``: paho 1.x passes
    ``(rc,)``, 2.x ``(flags, reason_code, properties)``."""
    return args[0] if len(args) == 1 else args[1]


def configure(client, section, url, will_topic, max_inflight):
    """Credentials, TLS, the last will (``offline``, retained) and the reconnect delays;
    ConfigError naming the key for a password or certificate file that cannot be read."""
    if section.username:
        client.username_pw_set(section.username, read_password(section.password_file))
    if url.tls:
        for key in ("ca-file", "cert-file", "key-file"):
            path = getattr(section, key.replace("-", "_"))
            if path and not _readable(path):
                raise ConfigError("[mqtt] {} = {}: cannot read the file (check the path and "
                                  "that the dashcam user may read it)".format(key, path))
        client.tls_set(ca_certs=section.ca_file or None, certfile=section.cert_file or None,
                       keyfile=section.key_file or None)
    client.will_set(will_topic, "offline", qos=1, retain=True)
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    client.max_inflight_messages_set(max_inflight)
    return client


def read_password(path):
    """The password in ``path`` (its first line); None without a path."""
    if not path:
        return None
    try:
        with open(path) as handle:
            return handle.readline().rstrip("\r\n")
    except OSError as error:
        raise ConfigError("[mqtt] password-file = {}: {} (check the path and that the dashcam "
                          "user may read it)".format(path, error.strerror or error))


def _readable(path):
    try:
        with open(path, "rb"):
            return True
    except OSError:
        return False
