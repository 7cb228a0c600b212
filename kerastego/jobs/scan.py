"""Scanning a corpus on one machine: every JPEG under the given paths, read and tiled in
worker processes, tiles of many files packed into full model batches, one JSON Lines row
per file written (and flushed) as soon as the file is scored.

The output is resumable: its first line names the model, and a re-run with the same
output skips the files it already holds (same path, size and mtime), after cutting a
line a kill left half-written; another model is refused. Rows follow detect's rules
(kerastego.jobs.detect: read_file, verdict, quality_warning), so a file gets the same
row whichever of the two scored it.
"""
import concurrent.futures as cf
import glob
import hashlib
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

from kerastego.fileio import cut_to_whole_lines, whole_lines
from kerastego.jobs.detect import is_jpeg, read_file, skipped_row, verdict
from kerastego.models.quality import quality_warning
from kerastego.serving import ServerError

HEADER = "kerastego_scan"
FORMAT_VERSION = 1


def candidates(paths):
    """(path, None) for each JPEG under `paths` (files, folders searched recursively, glob
    patterns), or (path, why) for what is skipped; lazy, so a corpus is never listed whole."""
    for given in paths:
        if glob.has_magic(given):
            matched = sorted(glob.iglob(given, recursive=True))
            yield from candidates(matched) if matched else [(given, "no file matches the pattern")]
        elif os.path.isdir(given):
            for root, dirs, names in os.walk(given):
                dirs.sort()
                for name in sorted(names):
                    yield _candidate(os.path.join(root, name))
        else:
            yield _candidate(given)


def _candidate(path):
    if not os.path.lexists(path):
        return path, "no such file"
    if not os.path.isfile(path):
        return path, "not a regular file"
    return (path, None) if is_jpeg(path) else (path, "not a JPEG (no start-of-image marker)")


def file_key(path):
    """What says a file is the one already scored: its path, size and mtime."""
    try:
        st = os.stat(path)
    except OSError:
        return [path, None, None]
    return [path, st.st_size, st.st_mtime_ns]


def model_identity(path=None, server=None):
    """The model's identity in the output header: a SHA-256 of the .keras file (of a
    SavedModel's graph and variable index), or the server and model name."""
    if server:
        return f"server {server}"
    digest = hashlib.sha256()
    files = [path] if os.path.isfile(path) else [os.path.join(path, "saved_model.pb"),
                                                 os.path.join(path, "variables", "variables.index")]
    for name in files:
        with open(name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return f"sha256 {digest.hexdigest()}"


class ScanOutput:
    """The JSON Lines output: a header line naming the model, then one row per file.
    Opening an existing output repairs a cut last line, refuses another model or format
    and collects the keys of the files already scored."""

    def __init__(self, path, model):
        self.path, self.model, self.done = path, model, set()
        header = {HEADER: FORMAT_VERSION, "model": model}
        if os.path.exists(path) and os.path.getsize(path):
            self._resume(header)
        else:
            with open(path, "w") as f:
                f.write(json.dumps(header) + "\n")
        self._file = open(path, "a")

    def _resume(self, header):
        cut_to_whole_lines(self.path)           # a kill cut the last line: drop it, score it again
        lines = whole_lines(self.path)[0].splitlines()
        try:
            found = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            found = {}
        if found.get(HEADER) != FORMAT_VERSION:
            raise ValueError(f"{self.path}: not a kerastego scan output (no header line): choose another --output")
        if found.get("model") != header["model"]:
            raise ValueError(f"{self.path}: written with another model ({found.get('model')}); this one is "
                             f"{header['model']}: choose another --output")
        for number, line in enumerate(lines[1:], start=2):
            try:
                self.done.add(tuple(json.loads(line)["key"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ValueError(f"{self.path}:{number}: not a scan row") from None

    def write(self, row):
        self._file.write(json.dumps(row, allow_nan=False) + "\n")
        self._file.flush()

    def close(self):
        self._file.close()


def _read_for_scan(job):
    """Worker side: (key, row, tiles, table) of one file (module level: workers import it)."""
    path, size, backend = job
    row, parts, qt = read_file(path, size, backend)
    return file_key(path), row, parts, qt


class Batcher:
    """Packs the tiles of many files into batches of `batch_size` for the model and hands
    back each file's row once all its tiles are scored (`add`, then `flush` at the end)."""

    def __init__(self, detector, batch_size, threshold):
        self.detector, self.batch_size, self.threshold = detector, batch_size, threshold
        self.queue, self.queued = [], 0          # [[file entry, tiles, table]], tiles waiting

    def add(self, key, row, parts, qt):
        entry = {"key": key, "row": row, "probs": [], "left": len(parts), "tiles": len(parts)}
        self.queue.append([entry, parts, qt])
        self.queued += len(parts)
        finished = []
        while self.queued >= self.batch_size:
            finished += self._run(self.batch_size)
        return finished

    def flush(self):
        finished = []
        while self.queued:
            finished += self._run(min(self.queued, self.batch_size))
        return finished

    def _take(self, n):
        """(entries, tiles, tables) of the next n tiles, splitting a file's tiles if need be."""
        owners, tiles, tables = [], [], []
        while n:
            entry, parts, qt = self.queue[0]
            k = min(n, len(parts))
            owners += [entry] * k
            tiles.append(parts[:k])
            tables.append(np.repeat(qt[None], k, axis=0))
            if k == len(parts):
                self.queue.pop(0)
            else:
                self.queue[0][1] = parts[k:]
            n -= k
        self.queued -= len(owners)
        return owners, np.concatenate(tiles), np.concatenate(tables)

    def _run(self, n):
        owners, tiles, tables = self._take(n)
        try:
            probs = np.asarray(self.detector(tiles, tables), np.float64)
        except ServerError as e:
            probs = np.full(len(owners), np.nan)
            for entry in owners:
                entry["row"]["error"] = f"{entry['row']['file']}: {e}"
        finished = []
        for entry, p in zip(owners, probs):
            entry["probs"].append(p)
            entry["left"] -= 1
            if entry["left"] == 0:
                row = entry["row"]
                if not row["error"]:
                    row = verdict(row, entry["probs"], self.threshold, entry["tiles"])
                finished.append((entry["key"], row))
        return finished


class Progress:
    """Files/s (and, with a known total, ETA) on a terminal bar, else a plain line every
    `every` seconds on stderr."""

    def __init__(self, total=None, every=30.0, stream=sys.stderr):
        self.count, self.start, self.last, self.every, self.stream = 0, time.time(), time.time(), every, stream
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="file", desc="scan", file=stream)

    def tick(self):
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        elif time.time() - self.last >= self.every:
            self.last = time.time()
            print(f"scan: {self.count} files, {self.rate():.1f} files/s", file=self.stream, flush=True)

    def rate(self):
        return self.count / max(time.time() - self.start, 1e-9)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _jobs(paths, out, size, backend, emit):
    """(path, size, backend) of each JPEG not yet in the output; skip rows emitted here."""
    for path, why in candidates(paths):
        key = file_key(path)
        if tuple(key) in out.done:
            continue
        if why:
            emit(key, skipped_row(path, why))
        else:
            yield path, size, backend


def _read_all(jobs, workers):
    """Results of _read_for_scan over `jobs`: in this process, or in `workers` spawned
    processes with a bounded window in flight (memory does not grow with the corpus)."""
    if not workers:
        yield from map(_read_for_scan, jobs)
        return
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        pending = set()
        for job in jobs:
            pending.add(pool.submit(_read_for_scan, job))
            if len(pending) >= 4 * workers:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                yield from (f.result() for f in done)
        for f in cf.as_completed(pending):
            yield f.result()


def scan(paths, detector, output, model, batch_size=64, workers=2, threshold=0.5, backend="jpeglib",
         progress=None):
    """Score every JPEG under `paths` into the JSON Lines file `output` (see the module
    docstring); returns the summary {files, stego, unreliable, errors, skipped, seconds,
    files_per_s} of this run."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a probability strictly between 0 and 1, got {threshold}")
    out = ScanOutput(output, model)
    progress = progress or Progress()
    stats = {"files": 0, "stego": 0, "unreliable": 0, "errors": 0, "skipped": 0}

    def emit(key, row):
        out.write({**row, "key": key})
        stats["files"] += 1
        stats["stego"] += row["verdict"] == "stego"
        stats["unreliable"] += bool(row["quality_warning"]) and row["verdict"] is not None
        stats["errors"] += bool(row["error"])
        stats["skipped"] += row["verdict"] is None and not row["error"]
        progress.tick()

    batcher = Batcher(detector, batch_size, threshold)
    tables = getattr(detector, "training_tables", [])
    try:
        for key, row, parts, qt in _read_all(_jobs(paths, out, detector.size, backend, emit), workers):
            if row["error"]:
                emit(key, row)
                continue
            row["quality_warning"] = quality_warning(qt, tables) or ""
            for finished in batcher.add(key, row, parts, qt):
                emit(*finished)
        for finished in batcher.flush():
            emit(*finished)
    finally:
        out.close()
        progress.close()
    seconds = time.time() - progress.start
    return {**stats, "seconds": round(seconds, 1), "files_per_s": round(stats["files"] / max(seconds, 1e-9), 1)}
