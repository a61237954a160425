"""Our GPIO/PWM udev rules (systemd/60-dashcam-gpio.rules) against Jetson.GPIO's own
99-gpio.rules, release by release (tests/jetson_gpio_udev.tsv, from NVIDIA/jetson-gpio's
history): every upstream rule we take must be granted by ours, and our rules' commands are run
for real by the shell they name, on a stand-in sysfs and /dev tree (no udev runs here: the test
does udev's substitutions of %p, %k and %E{EXPORT} itself)."""

import grp
import os
import re
import stat
import subprocess
from collections import namedtuple

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "jetson_gpio_udev.tsv")
OURS = os.path.join(os.path.dirname(HERE), "systemd", "60-dashcam-gpio.rules")
PAIR = re.compile(r'([A-Z]+(?:\{[^}]*\})?)\s*(==|!=|\+=|=)\s*"((?:[^"\\]|\\.)*)"')
PROGRAM = re.compile(r"^(/bin/(?:ba)?sh) -c '(.*)'$")

Rule = namedtuple("Rule", "matches grants program")


def expand_braces(word):
    """bash's brace expansion of one word (``/x/{,un}export`` -> two paths)."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not match:
        return [word]
    head, tail = word[:match.start()], word[match.end():]
    return [path for part in match.group(1).split(",") for path in expand_braces(head + part + tail)]


def parse_rule(line):
    """A ``Rule``: ``matches`` {key: value} of its == pairs, ``grants`` {path: (group, mode)}."""
    pairs = PAIR.findall(line)
    matches = {key: value for key, op, value in pairs if op == "=="}
    assigned = {key: value for key, op, value in pairs if op == "="}
    grants, program = {}, assigned.get("PROGRAM")
    if "GROUP" in assigned:
        grants["/dev/%k"] = (assigned["GROUP"], assigned["MODE"].lstrip("0"))
    if program and PROGRAM.match(program):   # else udev cannot run it either
        shell, script = PROGRAM.match(program).groups()
        owners, modes = {}, {}
        for command in script.split(";"):
            words = command.split()
            paths = [p for w in words[2:] for p in (expand_braces(w) if shell == "/bin/bash" else [w])]
            if words[0] == "chown":
                owners.update((path, words[1].split(":")[1]) for path in paths)
            elif words[0] == "chmod":
                modes.update((path, words[1]) for path in paths)
        grants.update((path, (owners[path], modes[path])) for path in owners if path in modes)
    return Rule(matches, grants, program)


def read_rules(path):
    with open(path) as handle:
        text = handle.read().replace("\\\n", " ")
    return [parse_rule(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def read_table():
    rows = [line.rstrip("\n").split("\t") for line in open(TABLE) if not line.startswith("#")]
    assert rows[0] == ["rule", "from", "until", "ours", "what", "upstream", "source"]
    return {row[0]: dict(zip(rows[0][1:], row[1:])) for row in rows[1:]}


def granted(ours, upstream):
    """What our rules grant wherever ``upstream`` fires: rules whose matches are all in its."""
    found = {}
    for rule in ours:
        if all(upstream.matches.get(k) == v for k, v in rule.matches.items()):
            found.update(rule.grants)
    return found


@pytest.mark.parametrize("name", sorted(n for n, r in read_table().items() if r["ours"] == "yes"))
def test_we_grant_what_each_upstream_rule_we_take_grants(name):
    upstream = parse_rule(read_table()[name]["upstream"])
    assert upstream.grants and all(g == "gpio" for g, _ in upstream.grants.values())
    wanted = set(upstream.grants.items())
    have = set(granted(read_rules(OURS), upstream).items())
    assert wanted <= have, f"{name}: 60-dashcam-gpio.rules lacks {sorted(wanted - have)}"


def test_the_rules_we_leave_out_say_why():
    table = read_table()
    assert {n for n, r in table.items() if r["ours"] == "no"} == {
        "gpio-sysfs-pin-old", "pwm-export-broken", "spidev"}
    # the broken one: its PROGRAM lacks the closing quote, so it grants nothing
    assert parse_rule(table["pwm-export-broken"]["upstream"]).grants == {}


def test_brace_expansion_and_parsing_follow_the_shells():
    assert expand_braces("/sys%p/{,un}export") == ["/sys%p/export", "/sys%p/unexport"]
    assert sorted(parse_rule(read_table()["pwm-channel"]["upstream"]).grants) == [
        "/sys%p/%E{EXPORT}/duty_cycle", "/sys%p/%E{EXPORT}/enable", "/sys%p/%E{EXPORT}/period"]
    # /bin/sh does no brace expansion: the same words name a file that does not exist
    assert parse_rule(read_table()["pwm-export"]["upstream"].replace("/bin/bash", "/bin/sh")).grants \
        == {"/sys%p/{,un}export": ("gpio", "220")}


def substitute(text, pairs):
    for old, new in pairs:
        text = text.replace(old, new)
    return text


def test_our_commands_do_what_they_say_on_a_stand_in_tree(tmp_path):
    group = grp.getgrgid(os.getgid()).gr_name   # no gpio group here: the process's own
    events = {   # (SUBSYSTEM, ACTION) -> udev's values of %p, %k and $env{EXPORT}
        ("gpio", "add"): ("/devices/platform/2200000.gpio/gpiochip0/gpio/gpio12", "gpio12", ""),
        ("pwm", "add"): ("/devices/platform/32d0000.pwm/pwm/pwmchip2", "pwmchip2", ""),
        ("pwm", "change"): ("/devices/platform/32d0000.pwm/pwm/pwmchip2", "pwmchip2", "pwm0"),
    }
    ran = 0
    for rule in read_rules(OURS):
        if not rule.program:
            continue
        devpath, kernel, export = events[(rule.matches["SUBSYSTEM"], rule.matches["ACTION"])]
        substitutions = (("/sys", str(tmp_path) + "/sys"), ("%p", devpath), ("%k", kernel),
                         ("%E{EXPORT}", export), (":gpio ", f":{group} "))
        real = {}
        for path in rule.grants:
            real[path] = substitute(path, substitutions)
            os.makedirs(os.path.dirname(real[path]), exist_ok=True)
            open(real[path], "w").close()
            os.chmod(real[path], 0o644)
        shell, script = PROGRAM.match(rule.program).groups()
        subprocess.run([shell, "-c", substitute(script, substitutions)], check=True, timeout=30)
        for path, (_, mode) in rule.grants.items():
            assert oct(stat.S_IMODE(os.stat(real[path]).st_mode))[2:] == mode, path
        ran += 1
    assert ran == 4   # sysfs export, sysfs pin, pwmchip export, pwm channel
