"""Run a per-item transform over many inputs: a local process pool by default, or
Apache Beam (optional extra) for datasets beyond one machine. The transform
returns ("ok", record) or ("skip", {"path", "problem"}) and never raises for bad
input, so one bad file does not stop the job."""
import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
import signal

from tqdm import tqdm


def run_local(fn, items, workers=None, desc="items", ordered=False, isolate=False):
    """Map fn over items with a process pool; yields results as they finish
    (or in input order when `ordered`). isolate: never run fn in this process, even
    with one worker (fn loads a library that must not meet this process's ones)."""
    workers = workers or os.cpu_count() or 1
    if not isolate and (workers == 1 or len(items) <= 1):
        for item in tqdm(items, desc=desc, unit="img"):
            yield fn(item)
        return
    # spawn: TF and fork do not mix. An executor (unlike multiprocessing.Pool) raises
    # BrokenProcessPool when a worker dies instead of waiting forever; what finished
    # before is already in the caller's manifest, so a re-run resumes.
    with cf.ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool, \
            _workers_end_with_the_job(pool), tqdm(total=len(items), desc=desc, unit="img") as bar:
        pending, ready, nxt, done = {}, {}, 0, 0
        while nxt < len(items) or pending:
            while nxt < len(items) and len(pending) < 4 * workers:   # a bounded window in flight
                pending[pool.submit(fn, items[nxt])] = nxt
                nxt += 1
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                ready[pending.pop(fut)] = fut.result()
                bar.update(1)
            while ready and (not ordered or done in ready):
                yield ready.pop(done if ordered else next(iter(ready)))
                done += 1


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _workers_end_with_the_job(pool):
    """SIGTERM ends the job as Ctrl-C does, and a job that ends early (a signal, an error)
    terminates its worker processes instead of leaving them running."""
    before = signal.signal(signal.SIGTERM, _exit_on_sigterm) if _in_main_thread() else None
    try:
        yield
    except BaseException:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)


def _in_main_thread():
    import threading
    return threading.current_thread() is threading.main_thread()


def run_beam(fn, items, work_dir, runner="DirectRunner", pipeline_args=None, desc="items"):
    """The same transform as an Apache Beam pipeline; results come back to the driver
    (fine for manifests of millions of lines) through a hidden folder in `work_dir`, the
    job's own output folder, which is removed once they are read: the job writes nowhere
    the user did not name."""
    try:
        import apache_beam as beam
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError as e:
        raise ImportError("runner=beam needs the optional extra: pip install 'kerastego[beam]'") from e
    import json
    import shutil
    import tempfile
    staging = tempfile.mkdtemp(prefix=".beam-results-", dir=work_dir)
    try:
        options = PipelineOptions([f"--runner={runner}"] + list(pipeline_args or []))
        with beam.Pipeline(options=options) as p:
            (p | f"Create {desc}" >> beam.Create(items)
               | f"Transform {desc}" >> beam.Map(fn)
               | "Encode" >> beam.Map(json.dumps)
               | "Write" >> beam.io.WriteToText(os.path.join(staging, "results"), file_name_suffix=".jsonl"))
        for name in sorted(os.listdir(staging)):
            with open(os.path.join(staging, name)) as f:
                for line in f:
                    yield tuple(json.loads(line))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(fn, items, work_dir, runner="local", workers=None, desc="items", pipeline_args=None):
    """fn over items on the process pool (runner "local") or on Beam; `work_dir` is the
    job's output folder, where Beam's results pass through."""
    if runner == "local":
        return run_local(fn, items, workers, desc)
    return run_beam(fn, items, work_dir, runner=runner, pipeline_args=pipeline_args, desc=desc)


def run_into_manifest(stage, fn, items, manifest, out_dir, runner="local", workers=None, desc="items"):
    """Run fn over items; append each finished record to the manifest as it arrives (so a
    killed job keeps its finished work) and report what was skipped. Returns the manifest."""
    from data_tools.manifest import append_jsonl, read_jsonl, report_skipped
    skipped = []
    for status, rec in run(fn, items, out_dir, runner=runner, workers=workers, desc=desc):
        if status == "ok":
            append_jsonl(manifest, [rec])
        else:
            skipped.append(rec)
    report_skipped(stage, skipped, out_dir)
    return read_jsonl(manifest)
