"""Scan a corpus: the stego probability of every JPEG under the given files, folders and
glob patterns (and the paths listed in --paths_from), written row by row to a JSON Lines
or CSV file; re-running with the same --output resumes (files already scored are
skipped; another model is refused). With --runner, the same scan runs as an Apache Beam
pipeline (flags this binary does not define pass through to Beam, e.g.
--direct_num_workers=4 --direct_running_mode=multi_processing) into sharded JSON Lines.

Exit status: 0 when every file was analysed; 1 when any could not be; 2 for a bad flag,
model or output. The summary goes to stderr."""
import os
import sys

from absl import app

from kerastego.cli import command
from kerastego.conventions import INFERENCE_PRECISION_HELP, MIXED_PRECISION

def define(flags):
    flags.DEFINE_string("model", None, "A .keras model or a SavedModel version directory.")
    flags.DEFINE_string("server", None, "A TensorFlow Serving endpoint (instead of --model): host:port for "
                        "REST, grpc://host:port for gRPC.")
    flags.DEFINE_string("model_name", "kerastego", "Model name on the server.")
    flags.DEFINE_string("output", None, "The file to write (or resume); with --runner, the shards' prefix.",
                        required=True)
    flags.DEFINE_enum("format", "jsonl", ["jsonl", "csv"], "Output format (a Beam scan writes JSON Lines).")
    flags.DEFINE_string("paths_from", None, "A text file of paths to scan, one per line "
                        "(taken literally: no patterns).")
    flags.DEFINE_integer("batch_size", 64, "Tiles per model call, packed from as many files as it takes "
                         "(with --runner: Beam's max_batch_size).")
    flags.DEFINE_integer("workers", 0, "Processes reading and tiling JPEGs ahead of the model (0: this process, "
                         "in bursts between model calls: fastest when the model computes on the CPU's cores).")
    flags.DEFINE_string("runner", None, "Run on Apache Beam: DirectRunner, DataflowRunner, FlinkRunner, "
                        "SparkRunner, ...")
    flags.DEFINE_float("threshold", 0.5, "Probability above which a file is called stego (strictly between 0 and 1).")
    flags.DEFINE_enum("mixed_precision", "off", MIXED_PRECISION, INFERENCE_PRECISION_HELP + " .keras models only.")
    flags.DEFINE_bool("trust_model", False, "Load a SavedModel even when its graph uses ops no kerastego export uses.")


def _usage(message):
    raise app.UsageError(message, exitcode=2)


def _check_flags(FLAGS, paths, beam_args):
    if not paths and not FLAGS.paths_from:
        _usage("give JPEG files, folders or glob patterns, or --paths_from")
    if bool(FLAGS.model) == bool(FLAGS.server):
        _usage("give exactly one of --model or --server")
    if FLAGS.batch_size <= 0 or FLAGS.workers < 0:
        _usage("--batch_size must be positive and --workers at least 0")
    if not 0.0 < FLAGS.threshold < 1.0:
        _usage(f"--threshold={FLAGS.threshold}: must be strictly between 0 and 1")
    if beam_args and not FLAGS.runner:
        _usage(f"unknown flag(s) {' '.join(beam_args)} (Beam pipeline options need --runner)")
    if FLAGS.paths_from and not os.path.isfile(FLAGS.paths_from):
        _usage(f"--paths_from={FLAGS.paths_from}: no such file")
    if FLAGS.runner and FLAGS.format != "jsonl":
        _usage("a Beam scan writes JSON Lines: leave --format out")


def _detector_args(FLAGS):
    return {"model": FLAGS.model, "server": FLAGS.server, "model_name": FLAGS.model_name,
            "mixed_precision": FLAGS.mixed_precision, "trust_model": FLAGS.trust_model}


def _identity(FLAGS):
    from kerastego.jobs.detect import ModelPathError
    from kerastego.jobs.scan import model_identity
    if FLAGS.server:
        return model_identity(server=f"{FLAGS.server}/{FLAGS.model_name}")
    try:
        return model_identity(FLAGS.model)
    except OSError as e:
        raise ModelPathError(f"{FLAGS.model}: {e.strerror or e}") from None


def _scan(FLAGS, paths):
    from kerastego.jobs.detect import open_detector
    from kerastego.jobs.scan import scan
    detector = open_detector(**_detector_args(FLAGS))
    return scan(paths, detector, FLAGS.output, _identity(FLAGS), FLAGS.batch_size, FLAGS.workers, FLAGS.threshold,
                fmt=FLAGS.format, list_file=FLAGS.paths_from)


def _beam_scan(FLAGS, paths, beam_args):
    from kerastego.jobs.scan_beam import beam_scan
    return beam_scan(paths, _detector_args(FLAGS), FLAGS.output, _identity(FLAGS), FLAGS.runner, beam_args,
                     FLAGS.threshold, FLAGS.batch_size, FLAGS.paths_from)


def job(FLAGS, args):
    paths = [a for a in args[1:] if not a.startswith("--")]
    beam_args = [a for a in args[1:] if a.startswith("--")]
    _check_flags(FLAGS, paths, beam_args)
    from kerastego.jobs.detect import ModelPathError
    from kerastego.serving import ServerError
    try:
        summary = _beam_scan(FLAGS, paths, beam_args) if FLAGS.runner else _scan(FLAGS, paths)
    except (ModelPathError, ServerError) as e:
        print(f"scan: --{'server' if FLAGS.server else 'model'} {e}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:     # an output of another model, not a scan output, no --paths_from
        print(f"scan: {e}", file=sys.stderr)
        return 2
    print("scan: " + ", ".join(f"{k} {v}" for k, v in summary.items()), file=sys.stderr)
    return 1 if summary["errors"] else 0



main = command(__name__, __doc__, define, job, known_only=True)
