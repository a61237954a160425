"""Every command has help and an example."""

import re

from dashcam.cli import build_parser


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
