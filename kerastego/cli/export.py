"""Export trained model(s) as a TensorFlow Serving SavedModel version (+ models.config)."""
from absl import app

from kerastego.cli import command
from kerastego.conventions import INFERENCE_PRECISION_HELP, MIXED_PRECISION


def define(flags):
    flags.DEFINE_list("models", None, "Trained .keras model(s); several export as one ensemble.", required=True)
    flags.DEFINE_string("base_dir", None, "Serving base directory (<base>/<name>/<version>/).", required=True)
    flags.DEFINE_string("model_name", "kerastego", "Model name on the server.")
    flags.DEFINE_integer("version", None, "Version number (default: next free integer; never overwrites).")
    flags.DEFINE_enum("mixed_precision", "off", MIXED_PRECISION, INFERENCE_PRECISION_HELP +
                      " The signatures still take and return float32.")


def job(FLAGS, args):
    if FLAGS.version is not None and FLAGS.version <= 0:
        raise app.UsageError(f"--version={FLAGS.version}: TF Serving versions are positive integers", exitcode=2)
    from kerastego.export import export_savedmodel, unservable_ops, write_models_config
    from kerastego.fileio import FolderInUse
    try:
        path = export_savedmodel(FLAGS.models, FLAGS.base_dir, FLAGS.model_name, FLAGS.version,
                                 mixed_precision=FLAGS.mixed_precision)
    except (FolderInUse, FileExistsError, ValueError) as e:
        raise SystemExit(f"export: {e}") from None
    bad = unservable_ops(path)
    if bad:
        raise SystemExit(f"export: {path} uses ops a stock TF Serving cannot run: {bad}")
    config = write_models_config(FLAGS.base_dir)
    print(f"export: wrote {path}; server config {config}")


main = command(__name__, __doc__, define, job)
