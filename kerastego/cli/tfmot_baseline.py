"""Magnitude pruning with tensorflow-model-optimization (own process; pip install -e '.[tfmot]'),
to compare unstructured sparsity with CALPA's shrinking (params, FLOPs, measured speed)."""
import os
import sys

from kerastego.cli import command


def define(flags):
    flags.DEFINE_string("model", None, "Trained .keras model of standard layers (e.g. srnet, spatial input).",
                        required=True)
    flags.DEFINE_string("data", None, "TFRecord pattern for the short pruning fine-tune.", required=True)
    flags.DEFINE_float("sparsity", 0.985, "Target sparsity (CALPA-SRNet keeps ~1.5% of SRNet's conv weights).")
    flags.DEFINE_integer("finetune_steps", 20, "Steps of pruning-aware fine-tuning.")
    flags.DEFINE_string("out", "tfmot_baseline.json", "Result JSON.")


CHILD = "import json, sys; from kerastego.pruning.tfmot_baseline import run; run(**json.loads(sys.argv[1]))"


def job(FLAGS, args):
    """tfmot needs legacy tf-keras, chosen by TF_USE_LEGACY_KERAS before TensorFlow loads:
    the work runs in a child process started with it set."""
    import json
    import subprocess
    arguments = {"model_path": FLAGS.model, "data_pattern": FLAGS.data, "out_path": FLAGS.out,
                 "sparsity": FLAGS.sparsity, "finetune_steps": FLAGS.finetune_steps}
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1"}
    return subprocess.run([sys.executable, "-c", CHILD, json.dumps(arguments)], env=env).returncode


main = command(__name__, __doc__, define, job)
