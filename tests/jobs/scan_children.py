"""Child processes of the scan tests (run as `python scan_children.py KIND ...`): a scan
killed with SIGKILL mid-run, and a scan whose memory is measured. Both use MeanDetector,
a small real function of the coefficients, so they need no model framework."""
import os
import signal
import sys
import tracemalloc

import numpy as np

from kerastego.jobs.scan import Progress, scan


class MeanDetector:
    """p = sigmoid(mean |coefficient| / 10 - 1) per size x size tile: cheap, deterministic,
    file-dependent."""
    training_tables = []

    def __init__(self, size=8):
        self.size = size

    def __call__(self, coefficients, quant_tables):
        return 1.0 / (1.0 + np.exp(1.0 - np.abs(coefficients.astype(np.float64)).mean(axis=(1, 2)) / 10.0))


class KilledAt(MeanDetector):
    """MeanDetector that SIGKILLs its own process on call number `at` (as kill -9 would)."""

    def __init__(self, at, size):
        super().__init__(size)
        self.at, self.calls = at, 0

    def __call__(self, coefficients, quant_tables):
        self.calls += 1
        if self.calls == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__call__(coefficients, quant_tables)


def peak_rss_kib():
    """The process's peak resident set (VmHWM) since the last reset_peak_rss()."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def reset_peak_rss():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def memory(folders, out_dir):
    """For each folder: files scanned, peak RSS (KiB) and peak traced Python memory (KiB).
    A first, unreported scan of the first folder warms the one-time caches (imports, the
    JPEG reader), so the reported figures differ only by what grows with the corpus."""
    _scan_for_memory(folders[0], os.path.join(out_dir, "warm-up.jsonl"))
    for i, folder in enumerate(folders):
        reset_peak_rss()
        tracemalloc.start()
        summary = _scan_for_memory(folder, os.path.join(out_dir, f"rows{i}.jsonl"))
        traced = tracemalloc.get_traced_memory()[1] // 1024
        tracemalloc.stop()
        print(summary["files"], peak_rss_kib(), traced, flush=True)


def _scan_for_memory(folder, output):
    return scan([folder], MeanDetector(), output, "mean", batch_size=64, workers=0, progress=Progress(every=1e9))


if __name__ == "__main__":
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "killed":
        folder, output, at = args
        scan([folder], KilledAt(int(at), 64), output, "mean", batch_size=4, workers=0)
    elif kind == "memory":
        memory(args[:-1], args[-1])
