"""Every binary: a flag that does not parse is one line on stderr and exit status 2, as
the README promises (absl's own app.run exits 1)."""
import glob
import os
import subprocess
import sys

import pytest

BIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bin")
ABSL_BINARIES = sorted(p for p in glob.glob(os.path.join(BIN, "*")) if "from absl import" in open(p).read())


def test_every_absl_binary_runs_through_kerastego_cli():
    assert len(ABSL_BINARIES) >= 10
    for path in ABSL_BINARIES:
        text = open(path).read()
        assert "from kerastego.cli import run" in text and "app.run(" not in text, path


@pytest.mark.parametrize("name", ["detect", "train", "embed", "export"])
def test_a_bad_flag_exits_2_with_one_line(name):
    r = subprocess.run([sys.executable, os.path.join(BIN, name), "--no_such_flag=1"], capture_output=True,
                       text=True, timeout=300)
    ours = [line for line in r.stderr.splitlines() if line.startswith(f"{name}:")]
    assert r.returncode == 2 and len(ours) == 1 and "no_such_flag" in ours[0], r.stderr[-1000:]
