"""The corpus scan as an Apache Beam pipeline, for runs beyond one machine:

    given paths -> candidates (folders walked, patterns matched) -> read and tile each JPEG
    -> RunInference (kerastego's ModelHandler, keyed by file, Beam's batching)
    -> tiles combined per file -> sharded JSON Lines

Rows are the local scan's (kerastego.jobs.scan): read_file, quality_warning and verdict
are the same functions. Beam's built-in TensorFlow handler is not used: it imports
tensorflow_hub (tf-keras, setuptools' removed pkg_resources) and cannot load SavedModels
under Keras 3 (apache/beam#30613, #30616). A Beam run is not resumable file by file: the
runner retries failed work, and the shards appear when the pipeline finishes.
"""
import glob
import json
import time

import numpy as np

from kerastego.conventions import FORMAT_VERSION
from kerastego.jobs.detect import skipped_row, verdict
from kerastego.jobs.scan import HEADER, JsonlRows, Tally, candidates, file_key, read_for_scan


def model_handler(detector_args, min_batch_size=1, max_batch_size=64):
    """A keyed Beam ModelHandler: examples (tile int16 (S, S), table (8, 8)) keyed by file,
    each worker opening the detector once with kerastego.jobs.detect.open_detector(**detector_args)."""
    from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, PredictionResult
    from kerastego.jobs.detect import open_detector

    class KerastegoModelHandler(ModelHandler):
        def __init__(self):
            super().__init__(min_batch_size=min_batch_size, max_batch_size=max_batch_size)

        def load_model(self):
            return open_detector(**detector_args)

        def run_inference(self, batch, model, inference_args=None):
            started = time.time()
            probs = model(np.stack([t for t, _ in batch]), np.stack([q for _, q in batch]).astype(np.float32))
            _model_calls(started, time.time())
            return [PredictionResult(example, float(p)) for example, p in zip(batch, probs)]

        def get_num_bytes(self, batch):
            return sum(t.nbytes + q.nbytes for t, q in batch)

        def get_metrics_namespace(self):
            return METRICS

    return KeyedModelHandler(KerastegoModelHandler())


METRICS = "kerastego_scan"


def _model_calls(started, ended):
    """Beam distributions of the model calls' start and end times (ms): their min and max
    over all workers bound the span in which the model ran."""
    from apache_beam.metrics import Metrics
    Metrics.distribution(METRICS, "call_start_ms").update(int(started * 1000))
    Metrics.distribution(METRICS, "call_end_ms").update(int(ended * 1000))


def model_span(result):
    """(first call's start, last call's end) in seconds since the epoch, from a finished
    pipeline's metrics; None when the model was never called."""
    from apache_beam.metrics.metric import MetricsFilter
    found = {m.key.metric.name: m.committed for m in
             result.metrics().query(MetricsFilter().with_namespace(METRICS))["distributions"]}
    if "call_start_ms" not in found:
        return None
    return found["call_start_ms"].min / 1000, found["call_end_ms"].max / 1000


def _read(path_and_why, size, tables):
    """('row', (path, key, row)) for a file with no tiles to score (skipped or unreadable);
    ('file', (path, key, row, count)) and ('tile', (path, (index, tile, table))) otherwise."""
    path, why = path_and_why
    if why:
        yield "row", (path, file_key(path), skipped_row(path, why))
        return
    key, row, parts, qt = read_for_scan(path, size, tables)
    if row["error"]:
        yield "row", (path, key, row)
        return
    yield "file", (path, key, row, len(parts))
    for i, part in enumerate(parts):
        yield "tile", (path, (i, part, qt))


def _combine(grouped, threshold):
    """The row of one file from its row and its tiles' probabilities, in tile order."""
    path, parts = grouped
    (key, row, count), = parts["file"]
    probs = [p for _, p in sorted(parts["probs"])]
    if len(probs) != count:
        row["error"] = f"{path}: {len(probs)} of {count} tile probabilities came back"
        return key, row
    return key, verdict(row, probs, threshold, count)


def _candidates(pipeline, paths, list_file):
    """(path, why) of every candidate under the given `paths` (patterns expanded) and the
    literal paths of `list_file` (read by Beam, never whole in one process)."""
    import apache_beam as beam
    given = (pipeline | "Paths" >> beam.Create(list(paths))
             | "Candidates" >> beam.FlatMap(lambda p: candidates([p])))
    if not list_file:
        return given
    listed = (pipeline | "List" >> beam.io.ReadFromText(list_file, strip_trailing_newlines=True)
              | "Not blank" >> beam.Filter(str.strip)
              | "Listed" >> beam.FlatMap(lambda p: candidates([p], patterns=False)))
    return (given, listed) | "All candidates" >> beam.Flatten()


def scan_pipeline(pipeline, paths, detector_args, size, tables, output_prefix, model, threshold=0.5,
                  batch_size=64, list_file=None):
    """Add the scan to `pipeline`: rows of every JPEG under `paths` (and listed in
    `list_file`) written as `output_prefix-SSSSS-of-NNNNN.jsonl`, each shard starting with
    the model's header."""
    import apache_beam as beam
    from apache_beam.ml.inference.base import RunInference
    parts = (_candidates(pipeline, paths, list_file)
             | "Spread" >> beam.Reshuffle()
             | "Read" >> beam.FlatMap(_read, size, tables))
    done = parts | "Done" >> beam.Filter(lambda kv: kv[0] == "row") | beam.Map(lambda kv: kv[1][1:])
    files = parts | "Files" >> beam.Filter(lambda kv: kv[0] == "file") | beam.Map(lambda kv: (kv[1][0], kv[1][1:]))
    probs = (parts
             | "Tiles" >> beam.Filter(lambda kv: kv[0] == "tile") | beam.Map(lambda kv: kv[1])
             | "Key tiles" >> beam.Map(lambda kv: ((kv[0], kv[1][0]), (kv[1][1], kv[1][2])))
             | "Model" >> RunInference(model_handler(detector_args, 1, batch_size))
             | "Per file" >> beam.Map(lambda kv: (kv[0][0], (kv[0][1], kv[1].inference))))
    scored = ({"file": files, "probs": probs}
              | "Group" >> beam.CoGroupByKey()
              | "Combine" >> beam.Map(_combine, threshold))
    header = JsonlRows.header(model)[0]
    _ = ((done, scored)
         | "Rows" >> beam.Flatten()
         | "Encode" >> beam.MapTuple(JsonlRows.line)
         | "Write" >> beam.io.WriteToText(output_prefix, file_name_suffix=".jsonl", header=header))


def output_prefix(output):
    """rows.jsonl -> rows (shards rows-00000-of-00004.jsonl beside it)."""
    return output[:-len(".jsonl")] if output.endswith(".jsonl") else output


def shards(output):
    return sorted(glob.glob(glob.escape(output_prefix(output)) + "-*-of-*.jsonl"))


def read_shards(output):
    """(header, rows) of a Beam scan's shards; every shard's header must be the same."""
    headers, rows = set(), []
    for shard in shards(output):
        with open(shard) as f:
            headers.add(f.readline())
            rows += [json.loads(line) for line in f if line.strip()]
    if len(headers) > 1:
        raise ValueError(f"{output_prefix(output)}-*.jsonl: shards of different scans")
    return (json.loads(headers.pop()) if headers else None), rows


def beam_scan(paths, detector_args, output, model, runner="DirectRunner", pipeline_args=(), threshold=0.5,
              batch_size=64, list_file=None):
    """Run the scan on Beam `runner` (extra `pipeline_args` pass through to Beam's
    PipelineOptions); returns the summary bin/scan prints, counted from the shards."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from kerastego.jobs.detect import open_detector
    if shards(output):
        raise ValueError(f"{output_prefix(output)}-*.jsonl: shards of an earlier Beam scan are there: "
                         f"choose another --output (a Beam scan is not resumed)")
    detector = open_detector(**detector_args)          # checked here, before any worker starts
    start = time.time()
    pipeline = beam.Pipeline(options=PipelineOptions(["--runner", runner, *pipeline_args]))
    scan_pipeline(pipeline, paths, detector_args, detector.size, detector.training_tables,
                  output_prefix(output), model, threshold, batch_size, list_file)
    result = pipeline.run()
    result.wait_until_finish()
    seconds = time.time() - start
    header, rows = read_shards(output)
    if header not in (None, {HEADER: FORMAT_VERSION, "model": model}):
        raise ValueError(f"{output_prefix(output)}-*.jsonl: shards of another scan ({header})")
    tally = Tally()
    for row in rows:
        tally.add(row)
    summary = {**tally.summary(seconds), "shards": len(shards(output))}
    span = model_span(result)
    if span:
        summary.update(first_model_call_s=round(span[0] - start, 1), model_span_s=round(span[1] - span[0], 2))
    return summary
