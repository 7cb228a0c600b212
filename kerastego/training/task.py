"""The steganalysis task: the model, its optimizer, the pair TFRecord inputs and
the pair-preserving training step under a distribution strategy.

Each replica gets contiguous slices of whole cover/stego pairs: a detector learns
from the difference inside a pair, so a pair is never split across replicas.
"""
import keras
import tensorflow as tf

from kerastego.data import make_dataset, quant_tables_of
from kerastego.kernels import cpu as cpu_kernels
from kerastego.models import build_model
from kerastego.models.record import with_record
from kerastego.models.registry import model_family
from kerastego.training.distribute import is_chief, with_synchronized_bn
from kerastego.training.presets import make_optimizer


def worker_layout(strategy):
    """(number of workers, this worker's index) for multi-worker strategies."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1, 0
    spec = resolver.cluster_spec().as_dict()
    return max(1, len(spec.get("worker", [])) + len(spec.get("chief", []))), int(resolver.task_id or 0)


class StegoTask:
    """Builds the model and optimizer under the strategy and owns the input pipeline."""

    def __init__(self, model, data, selection, preset, strategy, seed=0):
        """model, data, selection: those sections of the TrainConfig; seed: the run's."""
        self.model_options, self.data_options, self.selection = model, data, selection
        self.preset, self.strategy, self.seed = preset, strategy, seed
        self.replicas = strategy.num_replicas_in_sync
        if preset.batch_pairs % self.replicas:
            raise ValueError(f"batch_pairs={preset.batch_pairs} must be a multiple of the {self.replicas} "
                             "replicas so every replica gets whole cover/stego pairs")
        self.chief = is_chief(strategy)
        self.workers, self.worker_index = worker_layout(strategy)
        self.global_images = 2 * preset.batch_pairs
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
        # the JPEG qualities trained on, recorded in every saved model (detect warns on others)
        self.training_tables = quant_tables_of(data.train)

    def build(self):
        """Model and optimizer; call inside strategy.scope()."""
        m = self.model_options
        self.model = build_model(m.name, input_shape=(m.image_size, m.image_size, 1), input_kind=m.input_kind,
                                 mixed_precision=m.mixed_precision, **(m.kwargs or {}))
        if m.sync_bn:
            self.model = with_synchronized_bn(self.model)
        self.cpu_kernels = bool(m.cpu_kernels and cpu_kernels.wanted())
        if self.cpu_kernels:
            self.model = cpu_kernels.rewrite(self.model)
        self.optimizer = make_optimizer(self.preset, self.selection.ema_momentum)
        if m.mixed_precision == "float16":   # float16's range needs the loss scaled (dynamically)
            self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer)
        self.optimizer.build(self.model.trainable_variables)
        return self.model, self.optimizer

    def save(self, path):
        """Save the model in stock layers with its record: family and training quant tables."""
        with_record(cpu_kernels.stock(self.model), model_family(self.model_options.name),
                    self.training_tables).save(path)

    def dataset(self, seed, deterministic):
        """This worker's share of the training pairs; a plain (per-worker) iterator over
        it is checkpointable, tf.distribute's iterators are not."""
        data, m = self.data_options, self.model_options
        return make_dataset(data.train, self.preset.batch_pairs // self.workers, training=True,
                            image_size=m.image_size, input_kind=m.input_kind, augment=data.augment, seed=seed,
                            deterministic=deterministic, shuffle_buffer=data.shuffle_buffer,
                            shard=(self.workers, self.worker_index) if self.workers > 1 else None)

    def bn_batches(self):
        """A fixed set of training batches for BatchNorm re-estimation, from a pipeline
        of their own (the training data position is untouched); None when off."""
        n = self.selection.precise_bn_batches
        if not n:
            return None
        return lambda: (x for x, _ in self.dataset(self.seed + 1, True).take(n))

    def _step_fn(self, x, y):
        model = self.model
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = tf.nn.compute_average_loss(self.loss_fn(y, probs), global_batch_size=self.global_images)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        # scale_loss is the identity except under LossScaleOptimizer, whose apply unscales
        grads = tape.gradient(self.optimizer.scale_loss(loss), model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.cast(tf.argmax(probs, -1), y.dtype), y), tf.float32))
        return loss, correct

    def _to_devices(self, batch):
        """The batch split over this worker's replicas, each part copied to its replica's
        device: issued before the previous step has finished, the copy overlaps it."""
        devices = self.strategy.extended.worker_devices
        flat = tf.nest.flatten(batch)
        pieces = [tf.split(t, len(devices)) if len(devices) > 1 else [t] for t in flat]
        parts = []
        for i, device in enumerate(devices):
            with tf.device(device):
                parts.append(tf.nest.pack_sequence_as(batch, [tf.identity(p[i]) for p in pieces]))
        return parts

    def _distribute(self, parts):
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: parts[ctx.replica_id_in_sync_group % len(parts)])

    def train_steps_fn(self, jit_compile=False):
        """A tf.function running `n` steps on the iterator in one call, so the host waits
        on the device once per call, not once per step -> (loss sum, accuracy sum, last
        loss, last accuracy). Within a call the next batch is fetched and copied to the
        devices while the current step runs (prefetch to device); a call takes exactly n
        batches, so the iterator's checkpointed position stays exact. jit_compile: each
        replica's step (forward, gradients, update) compiled with XLA; the input stays
        outside (iterators do not compile)."""
        strategy = self.strategy
        replica_step = tf.function(self._step_fn, jit_compile=True) if jit_compile else self._step_fn

        def one_step(parts):
            x, y = self._distribute(parts)
            loss, correct = strategy.run(replica_step, args=(x, y))
            return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                    strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None) / self.global_images)

        @tf.function
        def train_steps(it, n):
            current = self._to_devices(next(it))
            loss_sum, acc_sum = tf.constant(0.0), tf.constant(0.0)
            for _ in tf.range(n - 1):
                following = self._to_devices(next(it))   # no dependency on the step: runs beside it
                loss, acc = one_step(current)
                loss_sum, acc_sum, current = loss_sum + loss, acc_sum + acc, following
            loss, acc = one_step(current)
            return loss_sum + loss, acc_sum + acc, loss, acc
        return train_steps
