"""A command line that names its command loads only that command's module; help still lists all."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from legacy_bridge.cli import COMMANDS, command_of, main


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_each_module_registers_exactly_the_commands_listed_for_it(module: str) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(module).register(sub)
    assert tuple(sub.choices) == COMMANDS[module]  # a command missing here would not be found by name


@pytest.mark.parametrize(("argv", "command"), [
    (["run", "erp_to_crm"], "run"),
    (["--state", "var/x.db", "--log-level", "debug", "history", "erp_to_crm"], "history"),
    (["--state=run", "status"], "status"),
    (["--state", "run", "replay", "erp_to_crm"], "replay"),  # the option's value is not the command
    (["--help"], None),
    (["--version"], None),
    ([], None),
    (["bogus"], None),
    (["--state"], None),  # a global option without its value: the whole parser reports it
])
def test_the_command_is_found_after_the_global_options(argv: list[str], command: str | None) -> None:
    assert command_of(argv) == command


def test_help_without_a_command_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for commands in COMMANDS.values():
        for command in commands:
            assert f"    {command} " in out or f"    {command}\n" in out, command


def test_an_unknown_command_is_a_usage_error_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err and "'run'" in err and "'serve'" in err


def test_run_does_not_load_the_other_commands_code() -> None:
    # in a fresh interpreter: the dashboard, the scheduler and the replay code stay unloaded for `run`
    code = ("import sys; from legacy_bridge.cli import main; rc = main(['run', '--help']); "
            "print(rc, sorted(m for m in ('legacy_bridge.observe.dashboard', 'legacy_bridge.runtime.scheduler', "
            "'legacy_bridge.runtime.replay', 'legacy_bridge.cli.serve') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "0 []", out
    assert "legacy-bridge run [-h]" in out
