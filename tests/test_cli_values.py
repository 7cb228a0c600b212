"""Every binary refuses a flag value out of range in one line, exit status 2, writing nothing."""
import pytest

from harness import run_command


@pytest.mark.parametrize("binary, args, message", [
    ("make_covers", ["--bundled", "--quality=0"], "--quality=0: must be in 1..100"),
    ("make_covers", ["--bundled", "--size=100"], "--size=100: must be a positive multiple of 8"),
    ("embed", ["--covers_dir=x", "--payload=1.5", "--algorithm=nsf5"], "--payload=1.5: bpnzAC is in (0, 1]"),
    ("prune", ["--model=x.keras", "--data=x", "--epsilon=0"], "--epsilon=0.0: the rate step must be in (0, 1)"),
    ("evaluate", ["--models=x.keras", "--test_data=x", "--batch_pairs=0"], "--batch_pairs=0: must be positive"),
    ("export", ["--models=x.keras", "--version=0"], "--version=0: TF Serving versions are positive integers"),
])
def test_binaries_refuse_bad_flags_in_one_line(tmp_path, capsys, binary, args, message):
    where = f"--base_dir={tmp_path / 'b'}" if binary == "export" else f"--out_dir={tmp_path / 'o'}"
    r = run_command(binary, [where] + args, capsys)
    assert r.returncode == 2, r.stderr[-500:]
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "b").exists()
