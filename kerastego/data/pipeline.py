"""tf.data pipeline over pair TFRecords: interleaved shard reads, parallel parsing,
shuffling of *pairs*, the same random rot90/flip on both members of a pair, and
batches of k pairs = 2k images (cover, stego, cover, stego, ...).

Keeping each cover and its stego in one batch is what lets a detector start
learning at all on small data (SPEC, pitfalls).
"""
import tensorflow as tf

from kerastego.conventions import COEFFICIENTS, INPUT_KINDS, QUANT_TABLE
from kerastego.data.augment import dihedral
from kerastego.data.schema import parse_pair
from kerastego.layers.jpeg import decompress_tf


class DataError(ValueError):
    """A dataset file that cannot be used, named in the message."""


def list_shards(file_pattern):
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    files = sorted(f for p in patterns for f in tf.io.gfile.glob(p))
    if not files:
        raise DataError(f"no TFRecord files match {file_pattern!r}")
    return files


def compression_of(path):
    return "GZIP" if str(path).endswith(".gz") else ""


def count_and_check(file_pattern):
    """Read every record of every shard; return {file: records}. A truncated or
    corrupt shard raises DataError naming the file."""
    counts = {}
    for f in list_shards(file_pattern):
        n = 0
        try:
            for _ in tf.data.TFRecordDataset(f, compression_type=compression_of(f)):
                n += 1
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
            raise DataError(f"{f}: truncated or corrupt TFRecord after {n} records "
                            f"({e.message.splitlines()[0]})") from e
        counts[f] = n
    return counts


def quant_tables_of(file_pattern, per_shard=256):
    """The distinct 8x8 quant tables among the first `per_shard` pairs of each shard
    (a dataset's JPEG qualities, recorded in the models trained on it)."""
    import numpy as np
    tables = set()
    for f in list_shards(file_pattern):
        for record in tf.data.TFRecordDataset(f, compression_type=compression_of(f)).take(per_shard):
            table = tf.io.parse_single_example(record, {"quant_table": tf.io.FixedLenFeature([], tf.string)})
            tables.add(tuple(np.frombuffer(table["quant_table"].numpy(), "<f4").astype(float)))
    return [np.asarray(t).reshape(8, 8) for t in sorted(tables)]


def _pair_to_images(ex, op=None):
    coefs = [ex["cover"], ex["stego"]]
    qt = ex["quant_table"]
    if op is not None:
        coefs, qt = dihedral(coefs, qt, op)
    return {
        COEFFICIENTS: tf.stack(coefs),
        QUANT_TABLE: tf.stack([qt, qt]),
        "label": tf.constant([0, 1], tf.int32),
        "cover_id": tf.stack([ex["cover_id"], ex["cover_id"]]),
    }


def make_dataset(file_pattern, batch_pairs, training, image_size=None, input_kind="coefficients",
                 augment=None, shuffle_buffer=2048, seed=None, deterministic=None, repeat=None,
                 with_ids=False, cycle_length=8, data_service=None, shard=None):
    """Build the input pipeline.

    Yields (x, labels) with 2*batch_pairs images per batch, or (x, labels, cover_ids)
    when with_ids. x is {"coefficients": int16 (B, H, W), "quant_table": (B, 8, 8)}
    for models built with input_kind="coefficients", or float32 (B, H, W, 1)
    non-rounded decompressed images for input_kind="spatial".
    augment (default: training) applies one random dihedral op per pair.
    data_service: a tf.data service dispatcher address ("grpc://host:port") to
    move parsing and augmentation to remote workers.
    shard: (num_workers, index) to read a disjoint part per worker (multi-worker training).
    deterministic (default: not training): evaluation must read images in the same
    order on every run, or scores of several models cannot be lined up.
    """
    if input_kind not in INPUT_KINDS:
        raise ValueError(f"input_kind must be one of {INPUT_KINDS}, got {input_kind!r}")
    if batch_pairs < 1:
        raise ValueError(f"batch_pairs must be >= 1, got {batch_pairs}")
    augment = training if augment is None else augment
    deterministic = (not training) if deterministic is None else deterministic
    repeat = training if repeat is None else repeat
    files = list_shards(file_pattern)
    compression = compression_of(files[0])

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shard:
        if len(files) < shard[0]:
            raise DataError(f"{len(files)} shard file(s) cannot be split over {shard[0]} workers")
        ds = ds.shard(*shard)
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type=compression),
                       cycle_length=min(cycle_length, len(files)), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=deterministic)
    if repeat:
        ds = ds.repeat()
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda s: parse_pair(s, image_size), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=deterministic)
    if augment:
        ops = tf.data.Dataset.random(seed=seed).map(lambda r: tf.cast(r % 8, tf.int32))
        ds = tf.data.Dataset.zip((ds, ops)).map(_pair_to_images, num_parallel_calls=tf.data.AUTOTUNE,
                                                deterministic=deterministic)
    else:
        ds = ds.map(_pair_to_images, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    ds = ds.batch(batch_pairs, drop_remainder=training)

    def flatten(b):
        b = {k: tf.reshape(v, tf.concat([[-1], tf.shape(v)[2:]], 0)) for k, v in b.items()}
        if input_kind == "spatial":
            x = decompress_tf(b[COEFFICIENTS], b[QUANT_TABLE])
        else:
            x = {COEFFICIENTS: b[COEFFICIENTS], QUANT_TABLE: b[QUANT_TABLE]}
        return (x, b["label"], b["cover_id"]) if with_ids else (x, b["label"])

    ds = ds.map(flatten, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if data_service:
        ds = ds.apply(tf.data.experimental.service.distribute(
            processing_mode="parallel_epochs", service=data_service, job_name=None))
    options = tf.data.Options()
    options.deterministic = bool(deterministic)
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
