"""The user's documents stay true to the code: the README's set-up commands are what CI runs,
every command is in its table, docs/configuration.md is what `dashcam config show` prints,
and every relative link points to a file that exists."""

import glob
import importlib.util
import os
import re

from dashcam.cli import COMMANDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
DEMO_COMMAND = ("python3 -m venv .venv && .venv/bin/pip install -e '.[cpu]' "
                "&& .venv/bin/dashcam run --duration 30")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def read(path):
    with open(path) as handle:
        return handle.read()


def ci_test_command():
    """The last command of .ci/run: the README's test command, run verbatim."""
    lines = [line for line in read(os.path.join(ROOT, ".ci", "run")).splitlines() if line.strip()]
    return lines[-1]


def first_block(text):
    """The lines of the first fenced block, and the non-blank lines before it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```"))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return lines[start + 1:end], [line for line in lines[:start] if line.strip()]


def test_readme_is_short_and_opens_with_the_two_commands():
    text = read(README)
    assert len(text.splitlines()) <= 200, "README.md is for a user: 200 lines at most"
    block, before = first_block(text)
    assert len(before) == 1 and before[0].startswith("# "), "only the title comes before the commands"
    assert block == [DEMO_COMMAND, ci_test_command()], (
        "README.md's first block: the demo command, then exactly the test command .ci/run runs")


def test_readme_lists_every_command():
    text = read(README)
    missing = [name for name in COMMANDS if f"| `dashcam {name}" not in text]
    assert not missing, f"README.md's table of commands lacks: {', '.join(missing)}"


def markdown_files():
    return [README] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


def test_relative_links_point_to_existing_files():
    assert len(markdown_files()) > 1, "docs/ has the user's documents"
    broken = []
    for path in markdown_files():
        in_code = False
        for number, line in enumerate(read(path).splitlines(), 1):
            if line.startswith("```"):
                in_code = not in_code
                continue
            if in_code:
                continue
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:|#", target):
                    continue
                local = os.path.join(os.path.dirname(path), target.split("#")[0])
                if not os.path.exists(local):
                    broken.append(f"{os.path.relpath(path, ROOT)}:{number}: {target}")
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def load_tool():
    spec = importlib.util.spec_from_file_location(
        "config_doc", os.path.join(ROOT, "tools", "config_doc.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_doc_is_what_config_show_prints():
    tool = load_tool()
    expected = tool.render()
    assert os.path.exists(tool.DOC) and read(tool.DOC) == expected, (
        f"docs/configuration.md is out of date: run `{tool.COMMAND}` and commit it")


def test_configuration_doc_has_every_section_and_key():
    """The generator misses nothing `config show` prints: each header and key is a row."""
    from dashcam.config import load_config

    doc = read(load_tool().DOC)
    for line in load_config().to_ini().splitlines():
        if line.startswith("["):
            assert f"## `{line}`" in doc, line
        elif " =" in line and not line.startswith("#"):
            assert "| `{}` |".format(line.partition(" =")[0]) in doc, line


def test_a_comment_splits_into_help_and_allowed():
    split = load_tool().split_comment
    assert split("where to write (a device path (/dev/ttyTHS1: UART) or a pyserial URL)") == (
        "where to write", "a device path (/dev/ttyTHS1: UART) or a pyserial URL")
    assert split("seconds (0: none) (a number 0..3600)") == ("seconds (0: none)", "a number 0..3600")
    assert split("no allowed values") == ("no allowed values", "")
