"""Every command has help and an example."""

import argparse
import re
import subprocess
import sys

import pytest

from dashcam.cli import build_parser, main


def subcommands(parser):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield name, sub
                yield from subcommands(sub)


def test_every_command_has_help_and_an_example():
    commands = list(subcommands(build_parser()))
    assert commands
    for name, parser in commands:
        text = parser.format_help()
        assert parser.description, name
        assert re.search(r"examples?:\s+dashcam ", text), name


def command_parsers(parser, path=()):
    """``(argv path, parser)`` of every command that takes options (``("config", "show")``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from command_parsers(sub, path + (name,))


def required_arguments(parser):
    """Placeholder values for what ``parser`` requires, so that it gets to its leftovers."""
    argv = []
    for action in parser._actions:
        if action.option_strings and action.required:
            argv += [action.option_strings[-1], "1"]
        elif not action.option_strings and not isinstance(action, argparse._SubParsersAction) \
                and action.nargs != "?" and action.nargs != "*":
            argv.append("1")
    return argv


def misspelt(option):
    """``--duration`` -> ``--duraton``: a letter dropped in the middle (no prefix of it)."""
    middle = len(option) // 2 + 1
    return option[:middle] + option[middle + 1:]


def test_each_command_reports_an_unknown_option_with_its_usage_and_the_close_one(capsys):
    checked = []
    for path, parser in command_parsers(build_parser()):
        longs = [o for a in parser._actions for o in a.option_strings
                 if o.startswith("--") and o != "--help" and len(o) > 5]
        if not longs:
            continue
        typo = misspelt(longs[0])
        with pytest.raises(SystemExit) as exit_:
            main(list(path) + required_arguments(parser) + [typo, "5"])
        err = capsys.readouterr().err
        assert exit_.value.code == 2
        assert err.startswith("usage: dashcam {} ".format(" ".join(path))), (path, err)
        # "unrecognized arguments: --imaes 5", or, where the misspelt option was required,
        # "one of the arguments --images --video --from-recordings is required"
        last = err.splitlines()[-1]
        assert last.startswith("dashcam {}: error: ".format(" ".join(path))), (path, err)
        assert last.endswith(f"; did you mean {longs[0]}?"), (path, err)
        checked.append(path)
    assert ("run",) in checked and ("service", "status") in checked and len(checked) > 12


def test_run_duraton_names_run_and_duration_in_a_real_shell(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dashcam", "run", "--duraton", "5"],
                            cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: dashcam run [-h]")
    assert result.stderr.endswith("dashcam run: error: unrecognized arguments: --duraton 5; "
                                  "did you mean --duration?\n")


def test_several_unknown_options_each_get_their_close_one(capsys):
    with pytest.raises(SystemExit):
        main(["events", "--sicne=1h", "--jsn", "--colour"])
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        "did you mean --since (for --sicne), --json (for --jsn)?")
