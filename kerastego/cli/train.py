"""Train any registered model on pair TFRecords (resumes from out_dir's checkpoints).
Every flag is a TrainConfig option (kerastego/training/config.py)."""
from kerastego.cli import command, define_experiment_flag, experiment_config
from kerastego.training.cli import define_train_flags


def define(flags):
    define_train_flags(flags)
    define_experiment_flag(flags)


def job(FLAGS, args):
    import sys
    from kerastego.training import train
    from kerastego.fileio import FolderInUse
    from kerastego.training.state import ResumeRefused
    from kerastego.training.trainer import TrainingDiverged, check_config
    from kerastego.training import TrainConfig
    cfg = experiment_config(FLAGS, TrainConfig, "train")
    try:
        check_config(cfg)
    except ValueError as e:
        print(f"train: --{e}", file=sys.stderr)
        return 2
    try:
        summary = train(cfg)
    except TrainingDiverged as e:
        print(f"train: {e}", file=sys.stderr)
        return 3
    except ResumeRefused as e:
        print(f"train: {e}", file=sys.stderr)
        return 2
    except FolderInUse as e:
        print(f"train: --out_dir {e}", file=sys.stderr)
        return 2
    print(f"train: {summary['steps']} steps, best validation accuracy {summary['best_val_accuracy']}, "
          f"{summary['train_images_per_second']} img/s; see {FLAGS.out_dir}/summary.json")


main = command(__name__, __doc__, define, job)
