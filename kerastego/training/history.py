"""What a run leaves to read and look at: history.jsonl (one record per log or
validation, kept across resumes), TensorBoard scalars, a progress bar and curves.png."""
import json
import os

import keras
import tensorflow as tf

from kerastego.fileio import temporary_path, whole_lines


class History:
    """Train/validation records of one out_dir. Only the chief writes files."""

    def __init__(self, out_dir, chief, total_steps, verbose, resume_step=None):
        self.path = os.path.join(out_dir, "history.jsonl")
        self.chief = chief
        self.records = self._read(resume_step) if resume_step is not None else []
        log_dir = os.path.join(out_dir, "logs") if chief else os.path.join(out_dir, "logs", "worker-tmp")
        self.writer = tf.summary.create_file_writer(log_dir)
        self.progbar = keras.utils.Progbar(total_steps, verbose=verbose,
                                           stateful_metrics=["loss", "acc", "val_acc", "val_pe"]) if verbose else None

    def _read(self, up_to_step):
        """Records of earlier runs up to the step a resume continues from; the file is
        rewritten to hold just those (a killed run's later records, and a last line it
        cut, would otherwise stay before the resumed run's)."""
        if not os.path.exists(self.path):
            return []
        records = [h for h in map(json.loads, filter(str.strip, whole_lines(self.path)[0].splitlines()))
                   if h["step"] <= up_to_step]
        if self.chief:
            tmp = temporary_path(self.path)
            with open(tmp, "w") as f:
                f.writelines(json.dumps(h, allow_nan=False) + "\n" for h in records)
            os.replace(tmp, self.path)
        return records

    def _append(self, record, scalars):
        with self.writer.as_default(step=record["step"]):
            for tag, key in scalars:
                tf.summary.scalar(tag, record[key])
        self.records.append(record)
        if self.chief:
            with open(self.path, "a") as f:
                f.write(json.dumps(record, allow_nan=False) + "\n")

    def log_train(self, step, loss, accuracy, learning_rate):
        self._append({"step": step, "train_loss": loss, "train_accuracy": accuracy, "learning_rate": learning_rate},
                     [("train/loss", "train_loss"), ("train/accuracy", "train_accuracy"),
                      ("train/learning_rate", "learning_rate")])

    def log_validation(self, step, val):
        self._append({"step": step, "val_accuracy": val["accuracy"], "val_p_e": val["p_e"],
                      "val_threshold": val["threshold"]},
                     [("val/accuracy", "val_accuracy"), ("val/p_e", "val_p_e")])

    def progress(self, step, values):
        if self.progbar:
            self.progbar.update(step, values)

    def close(self, out_dir):
        self.writer.flush()
        if self.chief and self.records:
            plot_curves(self.records, os.path.join(out_dir, "curves.png"))


def plot_curves(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    train = [h for h in history if "train_accuracy" in h]
    val = [h for h in history if "val_accuracy" in h]
    fig, ax = plt.subplots(figsize=(6, 4))
    if train:
        ax.plot([h["step"] for h in train], [h["train_accuracy"] for h in train], label="train (running)")
    if val:
        ax.plot([h["step"] for h in val], [h["val_accuracy"] for h in val], "o-", label="validation (threshold 0.5)")
        if "val_p_e" in val[0]:
            ax.plot([h["step"] for h in val], [1 - h["val_p_e"] for h in val], "s--",
                    label="validation 1 - P_E (best threshold)")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
