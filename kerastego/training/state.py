"""The checkpointed training state: model, optimizer, the tf.data iterator (so a
resume continues at the same data position), the step, the best-model bookkeeping
and the selection rule, with the checks a resume needs. A checkpoint records the
format version (kerastego.conventions.FORMAT_VERSION); one of another version, or
lacking any object, is refused in one line.
"""
import tensorflow as tf

from kerastego.conventions import FORMAT_VERSION, SELECT_RULES


class TrainState:
    """The bookkeeping variables (created under the strategy's scope by the caller)."""

    def __init__(self, select_by):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # best by validation accuracy at 0.5 (the papers' criterion: the decision the model
        # makes on its own) or by 1 - P_E (needs a threshold fitted on validation data)
        self.best = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_score")
        self.best_accuracy = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_accuracy")
        self.best_pe = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_p_e")
        self.best_threshold = tf.Variable(0.5, dtype=tf.float64, trainable=False, name="best_val_threshold")
        self.best_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="best_step")
        # wall seconds spent training up to the last checkpoint, summed over resumed runs
        self.train_seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="train_seconds")
        # the rule behind `best`, so a resume under another rule is refused, not mixed
        self.select_rule = tf.Variable(SELECT_RULES.index(select_by), dtype=tf.int64, trainable=False,
                                       name="select_rule")
        self.format_version = tf.Variable(FORMAT_VERSION, dtype=tf.int64, trainable=False, name="format_version")

    def objects(self, model, optimizer, iterator):
        """Everything a checkpoint holds, by key."""
        return dict(model=model, optimizer=optimizer, step=self.step, best=self.best, best_step=self.best_step,
                    best_threshold=self.best_threshold, best_accuracy=self.best_accuracy, best_pe=self.best_pe,
                    train_seconds=self.train_seconds, select_rule=self.select_rule, iterator=iterator,
                    format_version=self.format_version)

    @property
    def current_step(self):
        return int(self.step.numpy())


class ResumeRefused(ValueError):
    """out_dir's checkpoints hold another training than the one asked for (another
    format, program, selection rule, model, size, input kind or batch): the message names
    both and what to do; bin/train prints it in one line and exits 2."""


def _scalar(path, name):
    return int(tf.train.load_variable(path, f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))


def restore(path, objects, select_by):
    """Restore a checkpoint once, strictly: its format version must be this trainer's, every
    object must be in it and match, and its best model must have been kept by `select_by`."""
    names = {key.split("/")[0] for key, _ in tf.train.list_variables(path)}
    version = _scalar(path, "format_version") if "format_version" in names else None
    if version != FORMAT_VERSION:
        raise ResumeRefused(f"{path}: a checkpoint of format {version} (this trainer resumes format "
                         f"{FORMAT_VERSION}): train into a new out_dir")
    missing = sorted(set(objects) - names)
    if missing:
        raise ResumeRefused(f"{path}: not a resumable checkpoint of this trainer (lacks {', '.join(missing)})")
    rule = SELECT_RULES[_scalar(path, "select_rule")]
    if rule != select_by and float(tf.train.load_variable(path, "best/.ATTRIBUTES/VARIABLE_VALUE")) >= 0:
        raise ResumeRefused(f"{path}: its best model was kept by select_by={rule!r}; resuming with "
                         f"select_by={select_by!r} would compare different scores. Resume with "
                         f"select_by={rule!r}, or train into a new out_dir.")
    tf.train.Checkpoint(**objects).restore(path).assert_existing_objects_matched()
    objects["select_rule"].assign(SELECT_RULES.index(select_by))
