"""The corpus scan on Apache Beam: the DirectRunner in multi-processing mode with two
workers writes exactly the local scan's rows (same files, probabilities to 1e-6), for
good files, a non-JPEG, a cut JPEG and a QF-mismatched one, given as a folder and as a
list of paths. Needs the `beam` extra (installed by `make test`)."""
import json
import os

import pytest

from kerastego.jobs.detect import KerasDetector
from kerastego.jobs.scan import scan

beam = pytest.importorskip("apache_beam", reason="the beam extra is not installed (pip install -e '.[beam]')")


def test_beam_direct_runner_with_two_workers_writes_the_local_scans_rows(corpus, tmp_path):
    from kerastego.jobs.scan_beam import beam_scan, read_shards, shards
    model = str(corpus / "model.keras")
    scan([str(corpus)], KerasDetector(model), str(tmp_path / "local.jsonl"), "m", batch_size=4, workers=0)
    local = {r["file"]: r for r in map(json.loads, (tmp_path / "local.jsonl").read_text().splitlines()[1:])}
    listed = tmp_path / "paths.txt"                   # the top-level files as a list, the sub-folder as a path
    listed.write_text("".join(f"{corpus / n}\n" for n in sorted(os.listdir(corpus)) if n != "sub"))
    summary = beam_scan([str(corpus / "sub")], {"model": model}, str(tmp_path / "beam.jsonl"), "m",
                        pipeline_args=["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
                        batch_size=4, list_file=str(listed))
    header, rows = read_shards(str(tmp_path / "beam.jsonl"))
    assert header == {"kerastego_scan": 1, "model": "m"} and len(shards(str(tmp_path / "beam.jsonl"))) >= 1
    by_file = {r["file"]: r for r in rows}
    assert len(rows) == len(by_file) == len(local) and set(by_file) == set(local)
    for name, want in local.items():
        got = by_file[name]
        for field, value in want.items():
            if field == "probability" and value is not None:
                assert got[field] == pytest.approx(value, abs=1e-6), name
            else:
                assert got[field] == value, (name, field)
    assert summary["errors"] == 1 and summary["unreliable"] == 1 and summary["skipped"] == 2
    with pytest.raises(ValueError, match="shards of an earlier Beam scan"):
        beam_scan([str(corpus)], {"model": model}, str(tmp_path / "beam.jsonl"), "m")
