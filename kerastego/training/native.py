"""Training on any Keras backend: `model.fit` over pair-preserving batches from numpy.

The TensorFlow trainer (kerastego.training.trainer) streams TFRecords through tf.data
under a distribution strategy; this path needs neither, so it runs wherever Keras runs
(JAX, PyTorch, TensorFlow). Every batch holds whole cover/stego pairs, cover then stego,
so a detector always sees both sides of each pair in one step.
"""
import os

import numpy as np
import keras

from kerastego.conventions import COEFFICIENTS, QUANT_TABLE


def _take(inputs, index):
    if isinstance(inputs, dict):
        return {k: v[index] for k, v in inputs.items()}
    return inputs[index]


def _pairs_in(inputs):
    return len(next(iter(inputs.values()))) if isinstance(inputs, dict) else len(inputs)


class PairBatches(keras.utils.PyDataset):
    """Batches of `batch_pairs` cover/stego pairs: images [c0, s0, c1, s1, ...] with labels
    [0, 1, 0, 1, ...]; the pair order is reshuffled every epoch (seeded), pairs never split.

    covers, stegos: a model's inputs for N images each, pair i = (covers[i], stegos[i]): a
    dict {"coefficients": (N, H, W) int16, "quant_table": (N, 8, 8)} or an (N, H, W, 1) image
    array. A last batch smaller than `batch_pairs` is dropped (every step has whole batches).
    """

    def __init__(self, covers, stegos, batch_pairs, seed=0, shuffle=True, **kwargs):
        super().__init__(**kwargs)
        n = _pairs_in(covers)
        if n != _pairs_in(stegos):
            raise ValueError(f"PairBatches: {n} covers but {_pairs_in(stegos)} stegos: pairs need one of each")
        if not 0 < batch_pairs <= n:
            raise ValueError(f"PairBatches: batch_pairs={batch_pairs} must be in 1..{n} (the pairs given)")
        self.covers, self.stegos, self.batch_pairs = covers, stegos, int(batch_pairs)
        self.shuffle, self._rng = shuffle, np.random.default_rng(seed)
        self._order = self._rng.permutation(n) if shuffle else np.arange(n)

    def __len__(self):
        return len(self._order) // self.batch_pairs

    def __getitem__(self, index):
        pairs = self._order[index * self.batch_pairs:(index + 1) * self.batch_pairs]
        both = [_take(self.covers, pairs), _take(self.stegos, pairs)]
        if isinstance(both[0], dict):
            x = {k: np.stack([both[0][k], both[1][k]], axis=1).reshape((-1,) + both[0][k].shape[1:]) for k in both[0]}
        else:
            x = np.stack(both, axis=1).reshape((-1,) + both[0].shape[1:])
        return x, np.tile(np.array([0, 1], np.int32), len(pairs))

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(len(self._order))


def read_pairs(cover_dir, stego_dir):
    """(covers, stegos, names): the coefficients and quant tables of the JPEGs that share a
    file name in both folders, as model inputs; a folder with none in common is an error."""
    from kerastego.jpeg_io import read_coefficients
    names = sorted(set(os.listdir(cover_dir)) & set(os.listdir(stego_dir)))
    names = [n for n in names if os.path.isfile(os.path.join(cover_dir, n)) and n.lower().endswith((".jpg", ".jpeg"))]
    if not names:
        raise ValueError(f"{cover_dir}, {stego_dir}: no JPEG file name in both folders")
    sides = []
    for folder in (cover_dir, stego_dir):
        read = [read_coefficients(os.path.join(folder, n))[:2] for n in names]
        sides.append({COEFFICIENTS: np.stack([c for c, _ in read]).astype(np.int16),
                      QUANT_TABLE: np.stack([q for _, q in read]).astype(np.float32)})
    return sides[0], sides[1], names


def fit_pairs(model, batches, epochs=1, steps_per_epoch=None, learning_rate=1e-3, jit_compile="auto",
              steps_per_execution=1, verbose=0):
    """Compile `model` (Adam, sparse cross-entropy, accuracy) and fit it on `batches`
    (a PairBatches); returns the Keras History."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"], jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model.fit(batches, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose, shuffle=False)
