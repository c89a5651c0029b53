"""Every command's `--help`: an example, shown line by line, naming claims that exist.

Click re-wraps a help paragraph unless it starts with `\\b`; without it, a block of example
commands runs together on one line. Claim ids in examples must be ids of the shipped catalog,
so that a user can paste them. The README must mention every command.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from evidence.cli import cli
from tests.claims_helpers import CATALOG
from tests.conftest import ROOT


def subcommand(group: click.Group, name: str) -> click.Command:
    # get_command, not .commands: the root group imports its command modules on first use
    command = group.get_command(click.Context(group), name)
    assert command is not None, name
    return command


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name in sorted(group.list_commands(click.Context(group))):
        command = subcommand(group, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name)


def command_at(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = subcommand(command, name)
    return command


def example_lines(command: click.Command) -> list[str]:
    doc = command.callback.__doc__ if command.callback else None
    doc = doc or command.help or ""
    if "Example:" not in doc:
        return []
    block = doc.split("Example:", 1)[1]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("evidence")]


ALL = list(commands())
LEAVES = [p for p in ALL if not isinstance(command_at(p), click.Group)]
CLAIM_IDS = {c["id"] for c in tomllib.loads(CATALOG.read_text("utf-8"))["claim"]}


@pytest.mark.parametrize("path", LEAVES + [()], ids=lambda p: " ".join(p) or "evidence")
def test_help_has_examples_each_on_its_own_line(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    examples = example_lines(command_at(path))
    assert examples, f"`evidence {' '.join(path)} --help` has no Example: block"
    shown = [line.strip() for line in result.output.splitlines()]
    for example in examples:
        assert example in shown, f"example run together with others:\n{result.output}"


@pytest.mark.parametrize("path", LEAVES, ids=lambda p: " ".join(p))
def test_claim_ids_in_examples_exist(path: tuple[str, ...]) -> None:
    for example in example_lines(command_at(path)):
        named = re.findall(r"--claim (\S+)", example)
        named += re.findall(r"claims (?:show|history) (\S+)", example)
        named += re.findall(r"review flag (\S+)", example)
        for claim_id in named:
            assert claim_id in CLAIM_IDS, f"{example!r} names no claim of the shipped catalog"


def test_readme_lists_every_command() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for path in LEAVES:
        top = path[0]
        assert re.search(rf"evidence {re.escape(top)}\b", readme), f"README lacks {top}"
        if len(path) > 1:
            # Subcommands: "evidence GROUP ... SUB" or the group's "a|b|c" list.
            assert re.search(rf"\b{re.escape(path[-1])}\b", readme), f"README lacks {path}"


def test_the_lazy_command_list_agrees_with_the_commands() -> None:
    """`evidence --help` lists commands from `COMMANDS` without importing them."""
    from evidence.cli import COMMANDS

    for name, (_, _, first) in COMMANDS.items():
        help_text = subcommand(cli, name).help or ""
        paragraph = " ".join(help_text.split("\n\n")[0].split())
        assert paragraph == first, f"update COMMANDS[{name!r}]"


def test_help_and_version_import_no_command_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from evidence.cli import cli\n"
        "try: cli(['--help'])\nexcept SystemExit: pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'pandas', 'Bio', 'pydantic', 'rich')]\n"
        "loaded = [m for m in sys.modules if m.startswith('evidence.cli.')]\n"
        "print(heavy, loaded, file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[] ['evidence.cli.app']", out.stderr
