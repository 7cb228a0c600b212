"""The checkpointed training state: model, optimizer, the tf.data iterator (so a
resume continues at the same data position), the step, the best-model bookkeeping
and the selection rule, with the compatibility checks a resume needs.

Checkpoint keys are a format: old checkpoints must keep resuming (tests cover one
written before the later bookkeeping existed).
"""
import tensorflow as tf

from kerastego.conventions import SELECT_RULES

# what a checkpoint must hold to resume at the same step and data position; later
# bookkeeping (training seconds, the best step's metrics, the selection rule) may be absent
CORE_STATE = ("model", "optimizer", "step", "best", "best_step", "best_threshold", "iterator")


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

    def objects(self, model, optimizer, iterator):
        """Everything a checkpoint holds, by key."""
        return dict(model=model, optimizer=optimizer, step=self.step, best=self.best, best_step=self.best_step,
                    best_threshold=self.best_threshold, best_accuracy=self.best_accuracy, best_pe=self.best_pe,
                    train_seconds=self.train_seconds, select_rule=self.select_rule, iterator=iterator)

    @property
    def current_step(self):
        return int(self.step.numpy())


def stored_rule(values):
    """The selection rule behind a checkpoint's best score, inferred for checkpoints
    written before the rule was stored: the best score equals the best step's
    accuracy or 1 - P_E; checkpoints without either predate select_by (P_E then)."""
    if "select_rule" in values:
        return SELECT_RULES[int(values["select_rule"])]
    if values["best"] < 0:
        return None                       # nothing kept yet: any rule may go on
    if "best_accuracy" not in values:
        return "p_e"
    if abs(values["best"] - values["best_accuracy"]) < 1e-12:
        return "accuracy"
    if abs(values["best"] - (1.0 - values["best_pe"])) < 1e-12:
        return "p_e"
    return None


def restore(path, objects, select_by):
    """Restore a checkpoint once, strictly: every core object must be in it and match;
    bookkeeping objects newer than the checkpoint keep their defaults."""
    names = {key.split("/")[0] for key, _ in tf.train.list_variables(path)}
    missing = [k for k in CORE_STATE if k not in names]
    if missing:
        raise ValueError(f"{path}: not a resumable checkpoint of this trainer (lacks {', '.join(missing)})")
    scalars = {k: float(tf.train.load_variable(path, f"{k}/.ATTRIBUTES/VARIABLE_VALUE"))
               for k in ("best", "best_accuracy", "best_pe", "select_rule") if k in names}
    rule = stored_rule(scalars)
    if rule is not None and rule != select_by:
        raise ValueError(f"{path}: its best model was kept by select_by={rule!r}; resuming with "
                         f"select_by={select_by!r} would compare different scores. Resume with "
                         f"select_by={rule!r}, or train into a new out_dir.")
    present = {k: v for k, v in objects.items() if k in names}
    tf.train.Checkpoint(**present).restore(path).assert_existing_objects_matched()
    objects["select_rule"].assign(SELECT_RULES.index(select_by))
