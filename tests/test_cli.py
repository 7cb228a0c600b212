"""Every binary is a command: `kerastego.cli.<name>.main(argv)` runs it in-process,
`bin/<name>` is a small wrapper for it and setup.py installs it as a console script.
A flag that does not parse is one line on stderr and exit status 2 (absl's own app.run
exits 1); --help prints what the command does and its flags."""
import ast
import importlib
import os
import subprocess
import sys

import pytest

from kerastego.cli import COMMANDS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")


def test_every_binary_wraps_its_command_and_is_a_console_script():
    assert sorted(os.listdir(BIN)) == sorted(COMMANDS)
    for name in COMMANDS:
        with open(os.path.join(BIN, name)) as f:
            assert f.read() == ('#!/usr/bin/env python3\nfrom kerastego.cli import script\n\n'
                                'if __name__ == "__main__":   # spawned worker processes import this file again\n'
                                f'    script("{name}")\n')
        assert callable(importlib.import_module(f"kerastego.cli.{name}").main)
    setup = ast.parse(open(os.path.join(ROOT, "setup.py")).read())
    listed = next(n.value for n in ast.walk(setup) if isinstance(n, ast.Assign) and n.targets[0].id == "COMMANDS")
    assert tuple(ast.literal_eval(listed)) == COMMANDS


FLAGGED = [n for n in COMMANDS if n != "convert_model"]


@pytest.mark.parametrize("name", FLAGGED)
def test_a_bad_flag_exits_2_with_one_line_in_process(name, capsys, tmp_path):
    main = importlib.import_module(f"kerastego.cli.{name}").main
    # scan keeps flags it does not define for Apache Beam: without --runner they are refused
    given = [f"--model={tmp_path}/m.keras", f"--output={tmp_path}/o.jsonl", "x.jpg"] if name == "scan" else []
    assert main([name, "--no_such_flag=1", *given]) == 2
    ours = [line for line in capsys.readouterr().err.splitlines() if line.startswith(f"{name}:")]
    assert len(ours) == 1 and "no_such_flag" in ours[0]


@pytest.mark.parametrize("name", FLAGGED)
def test_help_prints_the_commands_purpose_and_flags(name, capsys):
    module = importlib.import_module(f"kerastego.cli.{name}")
    assert module.main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(module.__doc__.strip().splitlines()[0]) and "--" in out


def test_two_commands_run_in_one_process(capsys, tmp_path):
    """Each command parses into flags of its own: no clash of --model, --output, ..."""
    from kerastego.cli import detect, scan
    assert detect.main(["detect", f"--model={tmp_path / 'none.keras'}", str(tmp_path)]) == 2
    assert scan.main(["scan", f"--model={tmp_path / 'none.keras'}", f"--output={tmp_path / 'o.jsonl'}",
                      str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "detect: --model" in err and "scan: --model" in err and "no such file" in err


@pytest.mark.parametrize("name", ["detect", "train"])
def test_a_bad_flag_exits_2_through_the_binary(name):
    r = subprocess.run([sys.executable, os.path.join(BIN, name), "--no_such_flag=1"], capture_output=True,
                       text=True, timeout=300)
    ours = [line for line in r.stderr.splitlines() if line.startswith(f"{name}:")]
    assert r.returncode == 2 and len(ours) == 1 and "no_such_flag" in ours[0], r.stderr[-1000:]


def test_the_flags_reference_is_current():
    from kerastego.cli.reference import reference
    with open(os.path.join(ROOT, "docs", "flags.md")) as f:
        assert f.read() == reference(), "docs/flags.md is stale: python -m kerastego.cli.reference > docs/flags.md"
    assert all(f"## {name}" in reference() for name in COMMANDS)
