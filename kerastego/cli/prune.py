"""CALPA-NET: search per-layer pruning rates of a trained model and write the slim
architecture (optionally train it from scratch)."""
import os

from absl import app

from kerastego.cli import command


def define(flags):
    flags.DEFINE_string("model_dir", None, "A training out_dir (its best.keras, else final.keras is used).")
    flags.DEFINE_string("model", None, "Or a trained .keras model file.")
    flags.DEFINE_string("data", None, "TFRecord pattern of a standalone validation split.", required=True)
    flags.DEFINE_string("out_dir", None, "Output folder.", required=True)
    flags.DEFINE_float("epsilon", 0.05, "Rate step.")
    flags.DEFINE_float("sigma", 0.05, "Tolerated accuracy drop (fraction).")
    flags.DEFINE_integer("max_images", 512, "Validation images used by the search.")
    flags.DEFINE_integer("samples", 2000, "ThiNet sampled outputs per layer.")
    flags.DEFINE_string("train_data", None, "Train the slim architecture from scratch on this pattern...")
    flags.DEFINE_integer("train_steps", 0, "... for this many steps (0: do not train).")


def job(FLAGS, args):
    from kerastego.jobs.prune import run_prune
    path = FLAGS.model
    if FLAGS.model_dir:
        best = os.path.join(FLAGS.model_dir, "best.keras")
        path = best if os.path.exists(best) else os.path.join(FLAGS.model_dir, "final.keras")
    if not path:
        raise app.UsageError("give --model_dir or --model")
    if FLAGS.train_steps and not FLAGS.train_data:
        raise app.UsageError("--train_steps needs --train_data", exitcode=2)
    if not 0.0 < FLAGS.epsilon < 1.0:
        raise app.UsageError(f"--epsilon={FLAGS.epsilon}: the rate step must be in (0, 1)", exitcode=2)
    if not 0.0 <= FLAGS.sigma <= 1.0:
        raise app.UsageError(f"--sigma={FLAGS.sigma}: the tolerated drop must be in [0, 1]", exitcode=2)
    if min(FLAGS.max_images, FLAGS.samples) <= 0 or FLAGS.train_steps < 0:
        raise app.UsageError("--max_images and --samples must be positive, --train_steps not negative", exitcode=2)
    if not os.path.exists(path):
        raise app.UsageError(f"--model {path}: no such file", exitcode=2)
    run_prune(path, FLAGS.data, FLAGS.out_dir, FLAGS.epsilon, FLAGS.sigma, FLAGS.max_images, FLAGS.samples,
              FLAGS.train_data, FLAGS.train_steps)


main = command(__name__, __doc__, define, job)
