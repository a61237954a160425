"""The systemd directives of our real unit files and of the drop-ins ``dashcam service install``
writes, against ``tests/systemd_directives.tsv`` (each directive's systemd version and changes
of meaning, with sources): nothing in them may fail or mean something else on the systemd of
JetPack 4.6 (237), 5.1 (245) or 6 (249). A directive newer than a target passes only where the
table says the dashcam does not rely on it (older systemd ignores an unknown directive with a
warning); one whose meaning changed after a target is refused."""

import os
import re
from collections import namedtuple

import pytest

from dashcam.service.install import EXPORT_UNIT, UNIT, drop_ins

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "systemd_directives.tsv")
UNITS = os.path.join(os.path.dirname(HERE), "systemd")
TARGETS = {"JetPack 4.6": 237, "JetPack 5.1": 245, "JetPack 6": 249}

Row = namedtuple("Row", "since changed relied source")


def read_table(path=TABLE):
    rows = [line.rstrip("\n").split("\t") for line in open(path)
            if line.strip() and not line.startswith("#")]
    assert rows[0] == ["directive", "since", "changed", "relied", "source"]
    table = {}
    for fields in rows[1:]:
        assert len(fields) == 5 and fields[0] not in table, fields
        name, since, changed, relied, source = fields
        table[name] = Row(0 if since == "base" else int(since),
                          None if changed == "-" else int(changed), relied == "yes", source)
        assert relied in ("yes", "no") and source.strip(), fields
    return table


def assignments(text):
    """``(key, value)`` of each assignment in a unit file's ``text`` (continuations joined)."""
    logical, pending = [], ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    for line in logical:
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", ";", "[")):
            key, _, value = stripped.partition("=")
            yield key.strip(), value.strip()


def used(text, table):
    """The table's names for what ``text`` uses: each key, a ``Key=value`` with a row of its
    own, an Exec line's ``+`` prefix, and each SystemCallFilter= group."""
    names = set()
    for key, value in assignments(text):
        names.add(key)
        if f"{key}={value}" in table:
            names.add(f"{key}={value}")
        if key.startswith("Exec") and value.startswith("+"):
            names.add(key + "=+")
        if key == "SystemCallFilter":
            names.update(word.lstrip("~") for word in value.split() if word.lstrip("~").startswith("@"))
    return names


def kept_meaning(name, text):
    """Whether ``name``'s change of meaning cannot bite in ``text``: ProtectClock='s implied
    DeviceAllow=char-rtc r turns device access into an allow-list only under the default
    DevicePolicy=auto (systemd PR #25075); a unit whose policy is closed or strict already
    is one, and the RTC entry only adds to it."""
    policy = re.search(r"^DevicePolicy=(\w+)", text, re.M)
    return name == "ProtectClock" and policy is not None and policy.group(1) in ("closed",
                                                                                "strict")


def problems(text, table, target):
    """What in ``text`` fails or means something else on systemd ``target``, one line each."""
    found = []
    for name in sorted(used(text, table)):
        row = table.get(name)
        if row is None:
            found.append(f"{name}: no row in systemd_directives.tsv (add it with its source)")
        elif row.changed is not None and target < row.changed and not kept_meaning(name, text):
            found.append(f"{name}: means something else before systemd {row.changed} ({row.source})")
        elif row.since > target and row.relied:
            found.append(f"{name}: needs systemd {row.since}, and the dashcam relies on it")
    return found


def our_texts():
    """``{label: text}``: both packaged units and every drop-in install can write."""
    texts = {}
    for unit in (UNIT, EXPORT_UNIT):
        with open(os.path.join(UNITS, unit)) as handle:
            texts[unit] = handle.read()
    for name, text in drop_ins("/home/me/.venv/bin/dashcam", "rtsp://camera/live").items():
        texts[name] = text
    assert set(texts) == {UNIT, EXPORT_UNIT, "50-home.conf", "50-network.conf"}
    return texts


@pytest.mark.parametrize("jetpack", sorted(TARGETS))
def test_nothing_in_our_units_fails_or_changes_meaning_on_a_jetpacks_systemd(jetpack):
    table = read_table()
    for label, text in our_texts().items():
        assert problems(text, table, TARGETS[jetpack]) == [], label


def test_the_table_refuses_what_it_should():
    table = read_table()
    # ProtectClock=: before 252 its DeviceAllow=char-rtc turned every other device to EPERM.
    unit = "[Service]\nProtectClock=yes\nStateDirectory=dashcam\nBindPaths=-/tmp/argus_socket\n"
    assert problems(unit, table, 249) == [
        "ProtectClock: means something else before systemd 252 ({})".format(
            table["ProtectClock"].source)]
    assert problems(unit + "DevicePolicy=closed\n", table, 249) == []   # an allow-list already
    # On a systemd older than a directive we rely on (StateDirectory= is 235's); a hardening
    # extra (RestrictSUIDSGID=, 242) older systemd ignores; an unknown directive needs a row.
    older = "[Service]\nStateDirectory=dashcam\nRestrictSUIDSGID=yes\nSecureBits=keep-caps\n"
    assert problems(older, table, 233) == [
        "SecureBits: no row in systemd_directives.tsv (add it with its source)",
        "StateDirectory: needs systemd 235, and the dashcam relies on it"]
    assert used("[Service]\nExecStartPre=+/bin/true\nSystemCallFilter=~@clock @swap\n", table) == {
        "ExecStartPre", "ExecStartPre=+", "SystemCallFilter", "@clock", "@swap"}


def test_continuation_lines_are_one_assignment():
    text = "[Service]\n# ExecStart=/bin/false\nExecStart=/bin/sh -c \\\n  'true'\nUMask=0027\n"
    assert list(assignments(text)) == [("ExecStart", "/bin/sh -c    'true'"), ("UMask", "0027")]
