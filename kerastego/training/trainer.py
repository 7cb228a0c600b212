"""The training loop: any registered model on the pair TFRecord pipeline, under a
distribution strategy, with validation, best-model keeping, TensorBoard logs and
checkpoints that resume at the same step *and the same data position* (the
tf.data iterator is part of the checkpoint).
"""
import contextlib
import dataclasses
import json
import os
import time

import keras
import tensorflow as tf

from kerastego.data import make_dataset
from kerastego.models import build_model
from kerastego.training.distribute import choose_strategy, is_chief, with_synchronized_bn
from kerastego.training.presets import make_optimizer, preset_for_model


@dataclasses.dataclass
class TrainConfig:
    train_data: str                      # TFRecord file pattern of the training split
    out_dir: str
    model: str = "hybrid-type1"
    val_data: str = None                 # pattern of a standalone validation split
    image_size: int = 256
    input_kind: str = "coefficients"
    batch_pairs: int = None              # global batch in pairs (2x images); None: preset
    steps: int = None                    # total steps; None: preset
    val_every: int = 1000
    checkpoint_every: int = 500
    log_every: int = 20
    optimizer: str = None                # overrides of the preset
    learning_rate: float = None
    momentum: float = None
    decay_every: int = None
    decay_rate: float = None
    seed: int = 0
    deterministic: bool = False
    shuffle_buffer: int = 512            # pairs; the buffer is saved in checkpoints
    augment: bool = True
    sync_bn: bool = False
    init_from: str = None                # curriculum: start from this trained .keras model
    select_by: str = "accuracy"          # best.keras: highest validation "accuracy" (threshold 0.5) or lowest "p_e"
    keep_checkpoints: int = 2            # checkpoints kept on disk (more: snapshots to compare or ensemble)
    ema_momentum: float = None           # validate and save an exponential moving average of the weights
    precise_bn_batches: int = 0          # before validating/saving, re-estimate BatchNorm statistics on this many batches
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    verbose: int = 1


SELECT_RULES = ("accuracy", "p_e")
# what a checkpoint must hold to resume at the same step and data position; later
# bookkeeping (training seconds, the best step's metrics, the selection rule) may be absent
CORE_STATE = ("model", "optimizer", "step", "best", "best_step", "best_threshold", "iterator")


def _stored_rule(values):
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


def _restore(path, state, select_by):
    """Restore a checkpoint once, strictly: every core object must be in it and match;
    bookkeeping objects newer than the checkpoint keep their defaults."""
    names = {key.split("/")[0] for key, _ in tf.train.list_variables(path)}
    missing = [k for k in CORE_STATE if k not in names]
    if missing:
        raise ValueError(f"{path}: not a resumable checkpoint of this trainer (lacks {', '.join(missing)})")
    scalars = {k: float(tf.train.load_variable(path, f"{k}/.ATTRIBUTES/VARIABLE_VALUE"))
               for k in ("best", "best_accuracy", "best_pe", "select_rule") if k in names}
    rule = _stored_rule(scalars)
    if rule is not None and rule != select_by:
        raise ValueError(f"{path}: its best model was kept by select_by={rule!r}; resuming with "
                         f"select_by={select_by!r} would compare different scores. Resume with "
                         f"select_by={rule!r}, or train into a new out_dir.")
    present = {k: v for k, v in state.items() if k in names}
    tf.train.Checkpoint(**present).restore(path).assert_existing_objects_matched()
    state["select_rule"].assign(SELECT_RULES.index(select_by))


@contextlib.contextmanager
def averaged_weights(model, optimizer):
    """Swap the optimizer's moving average of the weights into the model for the
    duration (validation, saving), then put the trained weights back. Why: with a
    small noisy batch the decision threshold of single SGD iterates drifts from one
    validation to the next; the average drifts far less. No-op without EMA."""
    if not getattr(optimizer, "use_ema", False):
        yield
        return
    weights = model.trainable_variables
    saved = [w.numpy() for w in weights]
    optimizer._overwrite_model_variables_with_average_value(weights)   # Keras' own swap (as fit's end)
    try:
        yield
    finally:
        for w, value in zip(weights, saved):
            w.assign(value)


@contextlib.contextmanager
def precise_bn(model, batches):
    """Re-estimate every BatchNorm layer's moving mean and variance as the plain
    average over `batches` (training-mode forward passes, no weight change) for the
    duration, then put the running statistics back so training goes on unchanged.
    Why: with momentum 0.95 the moving statistics follow the last ~20 small
    batches; the stego signal is a small shift, so the decision at 0.5 drifts from
    one checkpoint to the next (measured: held-out accuracy 0.51-0.67 across three
    checkpoints of one run, 0.62-0.63 with precise statistics; BUILD.md)."""
    bns = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
    if not batches or not bns:
        yield
        return
    saved = [(bn.moving_mean.numpy(), bn.moving_variance.numpy(), bn.momentum) for bn in bns]
    try:
        for k, x in enumerate(batches()):
            for bn in bns:
                bn.momentum = k / (k + 1.0)       # running plain average of the batch statistics
            model(x, training=True)
        for bn, (_, _, momentum) in zip(bns, saved):
            bn.momentum = momentum
        yield
    finally:
        for bn, (mean, var, momentum) in zip(bns, saved):
            bn.moving_mean.assign(mean)
            bn.moving_variance.assign(var)
            bn.momentum = momentum


def resolve_preset(cfg):
    p = preset_for_model(cfg.model)
    for field in ("optimizer", "learning_rate", "momentum", "decay_every", "decay_rate", "batch_pairs", "steps"):
        value = getattr(cfg, field)
        if value is not None:
            setattr(p, field, value)
    if cfg.learning_rate is not None and p.boundaries:
        # keep the preset's shape (e.g. /10 at the boundary) around the new base rate
        scale = cfg.learning_rate / p.values[0]
        p.values = tuple(v * scale for v in p.values)
    return p


def _dataset_output(cfg):
    return "coefficients" if cfg.input_kind == "coefficients" else "spatial"


def _worker_layout(strategy):
    """(number of workers, this worker's index) for multi-worker strategies."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1, 0
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("worker", [])) + len(spec.get("chief", []))), int(resolver.task_id or 0)


def validate(model, pattern, batch_pairs):
    """Accuracy (threshold 0.5), P_E and the P_E threshold on the whole validation split."""
    from kerastego.evaluation.evaluate import predict_split
    from kerastego.evaluation.metrics import accuracy, best_threshold, p_e
    p, y, _ = predict_split(model, pattern, batch_pairs)
    return {"accuracy": accuracy(p, y), "p_e": p_e(p, y), "threshold": best_threshold(p, y)}


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


def train(cfg, strategy=None):
    """Train (or resume) per cfg; returns the summary dict also written to summary.json."""
    if cfg.select_by not in SELECT_RULES:
        raise ValueError(f"select_by must be 'accuracy' or 'p_e', got {cfg.select_by!r}")
    if cfg.keep_checkpoints < 1:
        raise ValueError(f"keep_checkpoints must be >= 1, got {cfg.keep_checkpoints}")
    os.makedirs(cfg.out_dir, exist_ok=True)
    strategy = strategy or choose_strategy()
    preset = resolve_preset(cfg)
    replicas = strategy.num_replicas_in_sync
    if preset.batch_pairs % replicas:
        raise ValueError(f"batch_pairs={preset.batch_pairs} must be a multiple of the {replicas} replicas "
                         "so every replica gets whole cover/stego pairs")
    chief = is_chief(strategy)
    keras.utils.set_random_seed(cfg.seed)

    with strategy.scope():
        model = build_model(cfg.model, input_shape=(cfg.image_size, cfg.image_size, 1),
                            input_kind=cfg.input_kind, **cfg.model_kwargs)
        if cfg.sync_bn:
            model = with_synchronized_bn(model)
        optimizer = make_optimizer(preset, cfg.ema_momentum)
        optimizer.build(model.trainable_variables)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # best by validation accuracy at 0.5 (the papers' criterion: the decision the model
        # makes on its own) or by 1 - P_E (needs a threshold fitted on validation data)
        best = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_score")
        best_accuracy = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_accuracy")
        best_pe = tf.Variable(-1.0, dtype=tf.float64, trainable=False, name="best_val_p_e")
        best_threshold = tf.Variable(0.5, dtype=tf.float64, trainable=False, name="best_val_threshold")
        best_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="best_step")
        # wall seconds spent training up to the last checkpoint, summed over resumed runs
        train_seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="train_seconds")
        # the rule behind `best`, so a resume under another rule is refused, not mixed
        select_rule = tf.Variable(SELECT_RULES.index(cfg.select_by), dtype=tf.int64, trainable=False,
                                  name="select_rule")
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    global_images = 2 * preset.batch_pairs

    # A plain (per-worker) iterator is checkpointable; tf.distribute's iterators are not.
    workers, worker_index = _worker_layout(strategy)
    local_replicas = replicas // workers
    ds = make_dataset(cfg.train_data, preset.batch_pairs // workers, training=True, image_size=cfg.image_size,
                      output=_dataset_output(cfg), augment=cfg.augment, seed=cfg.seed,
                      deterministic=cfg.deterministic, shuffle_buffer=cfg.shuffle_buffer,
                      shard=(workers, worker_index) if workers > 1 else None)
    iterator = iter(ds)

    def bn_batches():
        # a fixed set of training batches (own pipeline: the training data position is untouched)
        bn_ds = make_dataset(cfg.train_data, preset.batch_pairs // workers, training=True,
                             image_size=cfg.image_size, output=_dataset_output(cfg), augment=cfg.augment,
                             seed=cfg.seed + 1, deterministic=True, shuffle_buffer=cfg.shuffle_buffer,
                             shard=(workers, worker_index) if workers > 1 else None)
        return (x for x, _ in bn_ds.take(cfg.precise_bn_batches))

    def inference_weights():
        """Weights as validated and saved: the moving average (ema_momentum) with
        re-estimated BatchNorm statistics (precise_bn_batches), when asked for."""
        stack = contextlib.ExitStack()
        stack.enter_context(averaged_weights(model, optimizer))
        stack.enter_context(precise_bn(model, bn_batches if cfg.precise_bn_batches else None))
        return stack

    state = dict(model=model, optimizer=optimizer, step=step, best=best, best_step=best_step,
                 best_threshold=best_threshold, best_accuracy=best_accuracy, best_pe=best_pe,
                 train_seconds=train_seconds, select_rule=select_rule, iterator=iterator)
    ckpt = tf.train.Checkpoint(**state)
    ckpt_dir = os.path.join(cfg.out_dir, "checkpoints")
    manager = tf.train.CheckpointManager(ckpt, ckpt_dir if chief else os.path.join(ckpt_dir, "worker-tmp"),
                                         max_to_keep=cfg.keep_checkpoints)
    history_path = os.path.join(cfg.out_dir, "history.jsonl")
    if manager.latest_checkpoint:
        _restore(manager.latest_checkpoint, state, cfg.select_by)
        if cfg.verbose:
            print(f"train: resumed from {manager.latest_checkpoint} at step {int(step.numpy())}")
        with open(history_path) if os.path.exists(history_path) else open(os.devnull) as f:
            history = [h for h in map(json.loads, filter(str.strip, f)) if h["step"] <= int(step.numpy())]
    else:
        history = []
        if cfg.init_from:
            source = keras.models.load_model(cfg.init_from)
            model.set_weights(source.get_weights())
            if cfg.verbose:
                print(f"train: curriculum start from {cfg.init_from}")

    def step_fn(x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(y, probs), global_batch_size=global_images)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.cast(tf.argmax(probs, -1), y.dtype), y), tf.float32))
        return loss, correct

    def split_for_replicas(batch):
        # contiguous slices of whole pairs, one per local replica
        def value_fn(ctx):
            i = ctx.replica_id_in_sync_group % local_replicas
            return tf.nest.map_structure(
                lambda t: tf.split(t, local_replicas)[i] if local_replicas > 1 else t, batch)
        return strategy.experimental_distribute_values_from_function(value_fn)

    @tf.function
    def train_step(it):
        x, y = split_for_replicas(next(it))
        loss, correct = strategy.run(step_fn, args=(x, y))
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None) / global_images)

    log_dir = os.path.join(cfg.out_dir, "logs") if chief else os.path.join(cfg.out_dir, "logs", "worker-tmp")
    writer = tf.summary.create_file_writer(log_dir)
    total = preset.steps
    start_step = int(step.numpy())
    progbar = keras.utils.Progbar(total, verbose=cfg.verbose, stateful_metrics=["loss", "acc", "val_acc", "val_pe"]) \
        if cfg.verbose else None
    run_loss, run_acc, n_run = 0.0, 0.0, 0
    t0 = t_saved = time.time()

    def save_history(records):
        history.extend(records)
        if chief:
            with open(history_path, "a") as f:
                for r in records:
                    f.write(json.dumps(r) + "\n")

    while int(step.numpy()) < total:
        loss, acc = train_step(iterator)
        step.assign_add(1)
        s = int(step.numpy())
        run_loss += float(loss)
        run_acc += float(acc)
        n_run += 1
        values = [("loss", float(loss)), ("acc", float(acc))]
        if s % cfg.log_every == 0 or s == total:
            record = {"step": s, "train_loss": run_loss / n_run, "train_accuracy": run_acc / n_run,
                      "learning_rate": float(optimizer.learning_rate)}
            with writer.as_default(step=s):
                tf.summary.scalar("train/loss", record["train_loss"])
                tf.summary.scalar("train/accuracy", record["train_accuracy"])
                tf.summary.scalar("train/learning_rate", record["learning_rate"])
            save_history([record])
            run_loss, run_acc, n_run = 0.0, 0.0, 0
        if cfg.val_data and (s % cfg.val_every == 0 or s == total):
            with inference_weights():
                val = validate(model, cfg.val_data, preset.batch_pairs)
                score = val["accuracy"] if cfg.select_by == "accuracy" else 1.0 - val["p_e"]
                improved = score > float(best.numpy())
                if improved and chief:
                    model.save(os.path.join(cfg.out_dir, "best.keras"))
            values += [("val_acc", val["accuracy"]), ("val_pe", val["p_e"])]
            with writer.as_default(step=s):
                tf.summary.scalar("val/accuracy", val["accuracy"])
                tf.summary.scalar("val/p_e", val["p_e"])
            save_history([{"step": s, "val_accuracy": val["accuracy"], "val_p_e": val["p_e"],
                           "val_threshold": val["threshold"]}])
            if improved:
                best.assign(score)
                best_accuracy.assign(val["accuracy"])
                best_pe.assign(val["p_e"])
                best_threshold.assign(val["threshold"])
                best_step.assign(s)
        if s % cfg.checkpoint_every == 0 or s == total:
            now = time.time()
            train_seconds.assign_add(now - t_saved)
            t_saved = now
            manager.save(checkpoint_number=s)
        if progbar:
            progbar.update(s, values)
    writer.flush()

    elapsed = time.time() - t0
    steps_run = int(step.numpy()) - start_step
    if chief:
        with inference_weights():
            model.save(os.path.join(cfg.out_dir, "final.keras"))
        if history:
            plot_curves(history, os.path.join(cfg.out_dir, "curves.png"))
    summary = {
        "model": cfg.model, "steps": int(step.numpy()), "steps_this_run": steps_run,
        "resumed_from_step": start_step, "global_batch_images": global_images, "replicas": replicas,
        # the best step's validation accuracy (threshold 0.5), P_E and the threshold reaching it
        "select_by": cfg.select_by,
        "best_val_accuracy": float(best_accuracy.numpy()) if float(best_accuracy.numpy()) >= 0 else None,
        "best_val_p_e": float(best_pe.numpy()) if float(best_pe.numpy()) >= 0 else None,
        "best_val_threshold": float(best_threshold.numpy()) if float(best.numpy()) >= 0 else None,
        "best_step": int(best_step.numpy()) or None, "seconds_this_run": round(elapsed, 2),
        "seconds_total": round(float(train_seconds.numpy()), 2),
        "train_images_per_second": round(steps_run * global_images / elapsed, 2) if steps_run else None,
        "final_model": os.path.join(cfg.out_dir, "final.keras"),
        "best_model": os.path.join(cfg.out_dir, "best.keras") if cfg.val_data else None,
        "config": dataclasses.asdict(cfg),
    }
    if chief:
        with open(os.path.join(cfg.out_dir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=2)
    return summary
