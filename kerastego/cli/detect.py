"""Stego probability per JPEG file (or folder), from a .keras model or an exported SavedModel.

Exit status: 0 when every file was analysed; 1 when any file could not be read or a
folder held no JPEG (the others are still reported); 2 for a bad flag or model.
stdout carries only the table/CSV/JSON; library messages go to stderr."""
import contextlib
import os
import sys

from absl import app

from kerastego.cli import command
from kerastego.conventions import INFERENCE_PRECISION_HELP, MIXED_PRECISION, TTA_VIEWS

def define(flags):
    flags.DEFINE_string("model", None, "A .keras model or a SavedModel version directory.")
    flags.DEFINE_string("server", None, "A TensorFlow Serving endpoint (instead of --model): host:port for "
                        "REST, grpc://host:port for gRPC.")
    flags.DEFINE_string("model_name", "kerastego", "Model name on the server.")
    flags.DEFINE_enum("format", "table", ["table", "csv", "json"], "Output format.")
    flags.DEFINE_float("threshold", 0.5, "Probability above which a file is called stego (strictly between 0 and 1).")
    flags.DEFINE_enum("views", "1", [str(v) for v in TTA_VIEWS],
                      "Exact flips/rotations of each tile averaged (test-time augmentation).")
    flags.DEFINE_enum("mixed_precision", "off", MIXED_PRECISION, INFERENCE_PRECISION_HELP + " .keras models only.")
    flags.DEFINE_bool("trust_model", False, "Load a SavedModel even when its graph uses ops no kerastego export uses "
                      "(file I/O, Python callbacks, ...): it runs that graph.")


@contextlib.contextmanager
def _stdout_to_stderr():
    """Route everything written to stdout (C libraries included) to stderr while the
    work runs, so that stdout carries the result alone; stdout is restored after, and
    a program that calls main keeps its own stdout."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def job(FLAGS, args):
    paths = args[1:]
    if not paths:
        raise app.UsageError("give JPEG files or folders", exitcode=2)
    if bool(FLAGS.model) == bool(FLAGS.server):
        raise app.UsageError("give exactly one of --model or --server", exitcode=2)
    if not 0.0 < FLAGS.threshold < 1.0:
        raise app.UsageError(f"--threshold={FLAGS.threshold}: must be strictly between 0 and 1", exitcode=2)
    from kerastego.jobs.detect import ModelPathError, detect, format_rows, open_detector
    from kerastego.serving import ServerError
    with _stdout_to_stderr():
        try:
            detector = open_detector(FLAGS.model, FLAGS.server, FLAGS.model_name, FLAGS.mixed_precision,
                                     FLAGS.trust_model)
        except (ModelPathError, ServerError) as e:
            print(f"detect: --{'server' if FLAGS.server else 'model'} {e}", file=sys.stderr)
            return 2
        rows = detect(paths, detector, threshold=FLAGS.threshold, views=int(FLAGS.views))
    print(format_rows(rows, FLAGS.format), flush=True)
    failed = sum(bool(r["error"]) for r in rows)
    if failed:
        print(f"detect: {failed} file(s) or folder(s) could not be analysed", file=sys.stderr)
    return 1 if failed else 0


main = command(__name__, __doc__, define, job)
