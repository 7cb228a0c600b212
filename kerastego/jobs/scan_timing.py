"""Timing the ways a corpus is scored (benchmarks/scan.py): the model's bare rate on
preloaded tiles, detect, the local scan, the Beam DirectRunner scan, the gRPC stand-in
scan, and the start-up time of bin/scan to its first row. Each returns files/s of a
corpus of one file kind, so the ratios to the bare rate say what the scan costs."""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from kerastego.jobs.detect import detect, read_file
from kerastego.jobs.scan import Progress, scan


def preloaded(paths, size):
    """(tiles int16 (N, S, S), tables float32 (N, 8, 8)) of every tile of `paths`."""
    tiles, tables = [], []
    for path in paths:
        row, parts, qt = read_file(path, size)
        if row["error"]:
            raise ValueError(row["error"])
        tiles.append(parts)
        tables.append(np.repeat(qt[None], len(parts), axis=0))
    return np.concatenate(tiles), np.concatenate(tables)


def bare_rate(detector, tiles, tables, batch, passes=3):
    """Tiles/s of detector calls on preloaded arrays in batches of `batch` (one warm-up
    call per batch shape first; the best of `passes` passes over the tiles)."""
    starts = range(0, len(tiles) - batch + 1, batch)
    detector(tiles[:batch], tables[:batch])
    best = 0.0
    for _ in range(passes):
        t = time.perf_counter()
        for i in starts:
            detector(tiles[i:i + batch], tables[i:i + batch])
        best = max(best, len(starts) * batch / (time.perf_counter() - t))
    return best


def best_bare_rate(detector, tiles, tables, batches=(1, 8, 32, 64)):
    """(best batch, its tiles/s, {batch: tiles/s}) over the batch sizes that fit the tiles."""
    rates = {b: bare_rate(detector, tiles, tables, b) for b in batches if b <= len(tiles)}
    best = max(rates, key=rates.get)
    return best, rates[best], rates


def detect_rate(paths, detector, batch):
    t = time.perf_counter()
    rows = detect(paths, detector, batch_size=batch)
    assert not any(r["error"] for r in rows), [r["error"] for r in rows if r["error"]][:1]
    return len(paths) / (time.perf_counter() - t)


class _FirstCall:
    """A detector that notes when it is first called."""

    def __init__(self, detector):
        self.detector, self.size, self.training_tables = detector, detector.size, detector.training_tables
        self.first = None

    def __call__(self, coefficients, quant_tables):
        self.first = self.first or time.perf_counter()
        return self.detector(coefficients, quant_tables)


def scan_rate(paths, detector, batch, workers, runs=1):
    """Files/s of a fresh local scan, the rate a long scan runs at: timed from its start
    when it reads in-line (workers=0: its first burst of reading is its own work), from its
    first model call with reading processes (their start-up is start_up_seconds'); the
    best of `runs` scans, as the bare rate is the best of its passes."""
    return max(_one_scan_rate(paths, detector, batch, workers) for _ in range(runs))


def _one_scan_rate(paths, detector, batch, workers):
    timed = _FirstCall(detector)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = scan(paths, timed, os.path.join(tmp, "rows.jsonl"), "timing", batch, workers,
                       progress=Progress(every=1e9))
        end = time.perf_counter()
    assert summary["errors"] == 0 and summary["files"] == len(paths), summary
    return len(paths) / (end - (timed.first if workers else start))


def beam_rate(paths, model, batch, workers):
    """(files/s while the model ran, seconds to the first model call) of a Beam
    DirectRunner scan with `workers` processes (multi-processing mode): the span is that
    of the model calls over all workers (their start and end times are Beam metrics), so
    the pipeline's start-up, which a long scan pays once, is reported apart."""
    from kerastego.jobs.scan_beam import beam_scan
    with tempfile.TemporaryDirectory() as tmp:
        summary = beam_scan(paths, {"model": model}, os.path.join(tmp, "rows.jsonl"), "timing",
                            pipeline_args=["--direct_running_mode=multi_processing",
                                           f"--direct_num_workers={workers}"], batch_size=batch)
    assert summary["errors"] == 0 and summary["files"] == len(paths), summary
    return len(paths) / summary["model_span_s"], summary["first_model_call_s"]


def grpc_rate(paths, saved_model, batch):
    """Files/s of a local scan through the gRPC stand-in serving `saved_model`."""
    from kerastego.export.standin import GrpcStandin
    from kerastego.serving import GrpcDetector
    with GrpcStandin(saved_model, "timing") as standin:
        detector = GrpcDetector(standin.target, "timing")
        detector(*preloaded(paths[:1], detector.size))                   # the server's first call traces
        return scan_rate(paths, detector, batch, workers=0)


def start_up_seconds(model, jpeg, poll=0.05, limit=600):
    """Seconds from starting `bin/scan --model model jpeg` to its first row on disk."""
    scan_bin = os.path.join(os.path.dirname(__file__), "..", "..", "bin", "scan")
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "rows.jsonl")
        t, seconds = time.perf_counter(), None
        child = subprocess.Popen([sys.executable, scan_bin, f"--model={model}", f"--output={output}", "--workers=0",
                                  jpeg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while time.perf_counter() - t < limit:
            if os.path.exists(output) and open(output).read().count("\n") >= 2:
                seconds = time.perf_counter() - t
                break
            if child.poll() is not None and child.returncode:
                raise RuntimeError(f"bin/scan exited {child.returncode}")
            time.sleep(poll)
        child.wait()
    if seconds is None:
        raise RuntimeError(f"bin/scan wrote no row within {limit} s")
    return seconds
