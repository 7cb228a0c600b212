"""Scanning a corpus on one machine: every JPEG under the given paths, read and tiled
(in bursts between model calls, or in worker processes), tiles of many files packed into
full model batches, one row per file written (and flushed) as soon as the file is scored,
as JSON Lines or CSV.

The output is resumable: its first line names the model, and a re-run with the same
output skips the files it already holds (same path, size and mtime), after cutting a
line a kill left half-written; another model is refused. Rows follow detect's rules
(kerastego.jobs.detect: read_file, verdict, quality_warning), so a file gets the same
row whichever of the two scored it.
"""
import collections
import concurrent.futures as cf
import csv
import glob
import hashlib
import io
import itertools
import json
import multiprocessing as mp
import os
import sys
import threading
import time

import numpy as np

from kerastego.conventions import FORMAT_VERSION
from kerastego.fileio import cut_to_whole_lines
from kerastego.jobs.detect import CSV_FORMULA_STARTS, csv_cell, is_jpeg, printable, read_file, skipped_row, verdict
from kerastego.models.quality import quality_warning
from kerastego.serving import ServerError

HEADER = "kerastego_scan"


def candidates(paths, patterns=True):
    """(path, None) for each JPEG under `paths` (files, folders searched recursively, and
    with `patterns` glob patterns), or (path, why) for what is skipped; lazy, so a corpus
    is never listed whole. A path from a list file is literal (patterns=False): a file
    named `[1].jpg` is that file."""
    for given in paths:
        if patterns and glob.has_magic(given):
            matched = sorted(glob.iglob(given, recursive=True))
            yield from candidates(matched, False) if matched else [(given, "no file matches the pattern")]
        elif os.path.isdir(given):
            for root, dirs, names in os.walk(given):
                dirs.sort()
                for name in sorted(names):
                    yield _candidate(os.path.join(root, name))
        else:
            yield _candidate(given)


def listed_paths(list_file):
    """The paths in a text file, one per line (blank lines skipped), read lazily: a list of
    millions of paths is never held whole. Each is taken as a command-line path is."""
    with open(list_file, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            path = line.rstrip("\r\n")
            if path.strip():
                yield path


def _candidate(path):
    if "\0" in path:
        return path, "not a valid path (NUL character)"
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


ROW_FIELDS = ("file", "probability", "verdict", "tiles", "note", "error", "quality_warning")
FORMATS = ("jsonl", "csv")


class JsonlRows:
    """JSON Lines: a header object, then one object per file with its key."""

    @staticmethod
    def header(model):
        return [json.dumps({HEADER: FORMAT_VERSION, "model": model})]

    @staticmethod
    def parse_header(line):
        try:
            found = json.loads(line)
        except json.JSONDecodeError:
            return None
        return found if isinstance(found, dict) and found.get(HEADER) == FORMAT_VERSION else None

    @staticmethod
    def line(key, row):
        return json.dumps({**row, "key": key}, allow_nan=False)

    @staticmethod
    def key(line):
        return tuple(json.loads(line)["key"])

    @staticmethod
    def done_key(key):
        return tuple(key)


class CsvRows:
    """CSV for spreadsheets: a first row `#kerastego_scan,1,model,<identity>`, the column
    names, then one row per file. Text cells are printable (control characters as \\xNN,
    so every record is one line) and formula-safe (kerastego.jobs.detect.csv_cell)."""

    COLUMNS = ROW_FIELDS + ("size", "mtime_ns")

    @classmethod
    def header(cls, model):
        return [cls._join(["#" + HEADER, FORMAT_VERSION, "model", model]), cls._join(cls.COLUMNS)]

    @staticmethod
    def _join(cells):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        return buf.getvalue()

    @staticmethod
    def parse_header(line):
        cells = next(csv.reader([line]), [])
        if len(cells) == 4 and cells[0] == "#" + HEADER and cells[1] == str(FORMAT_VERSION) and cells[2] == "model":
            return {HEADER: FORMAT_VERSION, "model": cells[3]}
        return None

    @classmethod
    def line(cls, key, row):
        cells = [row[f] for f in ROW_FIELDS] + key[1:]
        return cls._join(csv_cell(printable(c)) if isinstance(c, str) else ("" if c is None else c) for c in cells)

    @classmethod
    def key(cls, line):
        cells = next(csv.reader([line]))
        if len(cells) != len(cls.COLUMNS):
            raise ValueError("wrong number of cells")
        if cells[0].startswith("'") and cells[0][1:].startswith(CSV_FORMULA_STARTS):
            cells[0] = cells[0][1:]
        size, mtime = cells[-2:]
        return cells[0], int(size) if size else None, int(mtime) if mtime else None

    @staticmethod
    def done_key(key):
        return (printable(key[0]), *key[1:])


class ScanOutput:
    """The output file: a header naming the model, then one row per file (JSON Lines or
    CSV, written and flushed row by row). Opening an existing output repairs a cut last
    line, refuses another model, format or file kind, and collects the keys of the files
    already scored."""

    def __init__(self, path, model, fmt="jsonl"):
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
        self.path, self.model, self.rows, self.done = path, model, {"jsonl": JsonlRows, "csv": CsvRows}[fmt], set()
        if os.path.exists(path) and os.path.getsize(path):
            self._resume()
        else:
            with open(path, "w", newline="") as f:
                f.write("".join(line + "\n" for line in self.rows.header(model)))
        self._file = open(path, "a", newline="")

    def _resume(self):
        cut_to_whole_lines(self.path)           # a kill cut the last line: drop it, score it again
        skip = len(self.rows.header(self.model))
        with open(self.path, newline="", errors="replace") as f:
            found = self.rows.parse_header(f.readline().rstrip("\r\n"))
            if found is None:
                raise ValueError(f"{self.path}: not a kerastego scan output in {self.rows.__name__[:-4].lower()} "
                                 f"(no header line): choose another --output")
            if found.get("model") != self.model:
                raise ValueError(f"{self.path}: written with another model ({found.get('model')}); this one is "
                                 f"{self.model}: choose another --output")
            for number, line in enumerate(f, start=2):
                if number <= skip:
                    continue
                try:
                    self.done.add(self.rows.key(line.rstrip("\r\n")))
                except (json.JSONDecodeError, csv.Error, KeyError, TypeError, ValueError, StopIteration):
                    raise ValueError(f"{self.path}:{number}: not a scan row") from None

    def scored(self, key):
        return self.rows.done_key(key) in self.done

    def write(self, key, row):
        self._file.write(self.rows.line(key, row) + "\n")
        self._file.flush()

    def close(self):
        self._file.close()


def read_for_scan(path, size, tables, backend="jpeglib"):
    """(key, row, tiles, table) of one file before the model, its quality checked against
    the model's training `tables`: what the local scan's readers and Beam's read step do."""
    row, parts, qt = read_file(path, size, backend)
    if not row["error"]:
        row["quality_warning"] = quality_warning(qt, tables) or ""
    return file_key(path), row, parts, qt


def _read_job(job):
    """read_for_scan of one job tuple (module level: worker processes import it)."""
    return read_for_scan(*job)


class Tally:
    """The counts of a scan's summary, row by row."""

    def __init__(self):
        self.counts = {"files": 0, "stego": 0, "unreliable": 0, "errors": 0, "skipped": 0}

    def add(self, row):
        self.counts["files"] += 1
        self.counts["stego"] += row["verdict"] == "stego"
        self.counts["unreliable"] += bool(row["quality_warning"]) and row["verdict"] is not None
        self.counts["errors"] += bool(row["error"])
        self.counts["skipped"] += row["verdict"] is None and not row["error"]

    def summary(self, seconds):
        """{files, stego, unreliable, errors, skipped, seconds, files_per_s}."""
        files = self.counts["files"]
        return {**self.counts, "seconds": round(seconds, 1), "files_per_s": round(files / max(seconds, 1e-9), 1)}


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
    """Files/s (and, once the total is known, ETA) on a terminal bar, else a plain line
    every `every` seconds on stderr. The total arrives from a counting thread (set_total),
    so the scan never waits for a listing of the corpus."""

    def __init__(self, total=None, every=30.0, stream=sys.stderr):
        self.count, self.start, self.last, self.every, self.stream = 0, time.time(), time.time(), every, stream
        self.total, self.bar = total, None
        if stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="file", desc="scan", file=stream)

    def set_total(self, total):
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def tick(self):
        self.count += 1
        if self.bar is not None:
            self.bar.update(1)
        elif time.time() - self.last >= self.every:
            self.last = time.time()
            print(f"scan: {self.line()}", file=self.stream, flush=True)

    def line(self):
        """`N files, R files/s` and, with a known total, `of T, ETA ...`."""
        text = f"{self.count} files, {self.rate():.1f} files/s"
        if self.total:
            left = max(self.total - self.count, 0) / max(self.rate(), 1e-9)
            text += f", of {self.total}, ETA {time.strftime('%H:%M:%S', time.gmtime(left))}"
        return text

    def rate(self):
        return self.count / max(time.time() - self.start, 1e-9)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _entries(given):
    """How many directory entries the path, folder or pattern `given` stands for (no file
    is opened: the count is for the ETA only)."""
    if glob.has_magic(given):
        return sum(1 for _ in glob.iglob(given, recursive=True))
    if os.path.isdir(given):
        return sum(len(names) for _, _, names in os.walk(given))
    return 1


def _count_in_background(paths, list_file, out, progress):
    """A daemon thread that counts the entries still to score (directory listings and
    list lines only) and hands the total to `progress` for its ETA."""
    def count():
        total = sum(map(_entries, paths)) + (sum(1 for _ in listed_paths(list_file)) if list_file else 0)
        progress.set_total(max(total - len(out.done), 0))
    counter = threading.Thread(target=count, name="scan-counter", daemon=True)
    counter.start()
    return counter


def _jobs(paths, list_file, out, size, tables, backend, emit):
    """(path, size, tables, backend) of each JPEG not yet in the output; skip rows emitted here."""
    listed = candidates(listed_paths(list_file), patterns=False) if list_file else ()
    own = os.path.realpath(out.path)
    for path, why in itertools.chain(candidates(paths), listed):
        if why and os.path.realpath(path) == own:
            continue                                   # the output itself, in a scanned folder
        key = file_key(path)
        if out.scored(key):
            continue
        if why:
            emit(key, skipped_row(path, why))
        else:
            yield path, size, tables, backend


BURST_TILES = 64   # in-line reading: a burst of files holds at least this many tiles (or a batch's worth)
BURST_FILES = 64   # and at most this many files
WORKER_WINDOW = 4  # reading processes: files in flight per process


def _read_all(jobs, workers, batch_size):
    """Results of read_for_scan over `jobs`, in order: read in bursts by this process
    (workers=0, _read_in_bursts) or by `workers` spawned processes with at most
    WORKER_WINDOW files each in flight; either way memory does not grow with the corpus."""
    if not workers:
        yield from _read_in_bursts(jobs, max(batch_size, BURST_TILES))
        return
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        pending = collections.deque()
        for job in jobs:
            pending.append(pool.submit(_read_job, job))
            if len(pending) >= WORKER_WINDOW * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _read_in_bursts(jobs, tiles):
    """read_for_scan of `jobs`, a burst at a time: files read one after another until they
    hold `tiles` tiles (or BURST_FILES files), then handed on to be scored. Why
    (docs/decisions/0003-scan-reading.md): on a CPU the model's threads use the cores, so
    reading beside them slows the model calls by more than the reading costs, and reading
    between single model calls finds the caches cold every time; a burst pays that once."""
    jobs = iter(jobs)
    while True:
        burst, held = [], 0
        for job in jobs:
            burst.append(read_for_scan(*job))
            held += 0 if burst[-1][2] is None else len(burst[-1][2])
            if held >= tiles or len(burst) >= BURST_FILES:
                break
        if not burst:
            return
        yield from burst


def scan(paths, detector, output, model, batch_size=64, workers=0, threshold=0.5, backend="jpeglib",
         progress=None, fmt="jsonl", list_file=None):
    """Score every JPEG under `paths` and the paths listed in `list_file` (one per line,
    read lazily) into `output`, JSON Lines or CSV (see the module docstring); returns the summary {files, stego,
    unreliable, errors, skipped, seconds, files_per_s} of this run."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be a probability strictly between 0 and 1, got {threshold}")
    out = ScanOutput(output, model, fmt)
    progress = progress or Progress()
    tally = Tally()

    def emit(key, row):
        out.write(key, row)
        tally.add(row)
        progress.tick()

    paths = list(paths)
    _count_in_background(paths, list_file, out, progress)
    batcher = Batcher(detector, batch_size, threshold)
    tables = getattr(detector, "training_tables", [])
    try:
        jobs = _jobs(paths, list_file, out, detector.size, tables, backend, emit)
        for key, row, parts, qt in _read_all(jobs, workers, batch_size):
            if row["error"]:
                emit(key, row)
                continue
            for finished in batcher.add(key, row, parts, qt):
                emit(*finished)
        for finished in batcher.flush():
            emit(*finished)
    finally:
        out.close()
        progress.close()
    return tally.summary(time.time() - progress.start)
