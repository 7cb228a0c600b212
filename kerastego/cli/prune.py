"""CALPA-NET: search per-layer pruning rates of a trained model and write the slim
architecture (optionally train it from scratch). Every flag is a PruneConfig field
(kerastego/jobs/prune.py)."""
from absl import app

from kerastego.cli import command, define_experiment_flag, experiment_config
from kerastego.options import define_flags


def define(flags):
    from kerastego.jobs.prune import PruneConfig
    define_flags(flags, PruneConfig, required=("data", "out_dir"))
    define_experiment_flag(flags)


def job(FLAGS, args):
    from kerastego.jobs.prune import PruneConfig, check_prune_config, run_prune
    cfg = experiment_config(FLAGS, PruneConfig, "prune")
    try:
        check_prune_config(cfg)
    except ValueError as e:
        raise app.UsageError(str(e), exitcode=2) from None
    run_prune(cfg)


main = command(__name__, __doc__, define, job)
