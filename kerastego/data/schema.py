"""The TFRecord schema of a cover/stego pair: int16 coefficients + quant table.

One example holds both members of a pair, so shuffling examples can never split
a pair, and int16 coefficients are half the bytes of float32 pixels, losslessly.
"""
import numpy as np
import tensorflow as tf

FEATURES = {
    "cover": tf.io.FixedLenFeature([], tf.string),
    "stego": tf.io.FixedLenFeature([], tf.string),
    "quant_table": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "cover_id": tf.io.FixedLenFeature([], tf.string),
    "source": tf.io.FixedLenFeature([], tf.string),
    "algorithm": tf.io.FixedLenFeature([], tf.string),
    "payload": tf.io.FixedLenFeature([], tf.float32),
    "dataset_id": tf.io.FixedLenFeature([], tf.string, default_value=""),
}


def _bytes(v):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))


def serialize_pair(cover, stego, quant_table, cover_id, source, algorithm, payload, dataset_id=""):
    """Serialize one pair; coefficients (H, W) int16 in jpegio layout. dataset_id: the
    dataset the pair belongs to (make_tfrecords' dataset.json), so a pair always says where
    it came from."""
    cover = np.asarray(cover, dtype="<i2")
    stego = np.asarray(stego, dtype="<i2")
    if cover.shape != stego.shape:
        raise ValueError(f"{cover_id}: cover {cover.shape} and stego {stego.shape} differ in size")
    h, w = cover.shape
    feature = {
        "cover": _bytes(cover.tobytes()),
        "stego": _bytes(stego.tobytes()),
        "quant_table": _bytes(np.asarray(quant_table, dtype="<f4").reshape(64).tobytes()),
        "height": tf.train.Feature(int64_list=tf.train.Int64List(value=[h])),
        "width": tf.train.Feature(int64_list=tf.train.Int64List(value=[w])),
        "cover_id": _bytes(str(cover_id).encode()),
        "source": _bytes(str(source).encode()),
        "algorithm": _bytes(str(algorithm).encode()),
        "payload": tf.train.Feature(float_list=tf.train.FloatList(value=[float(payload)])),
        "dataset_id": _bytes(str(dataset_id).encode()),
    }
    # deterministic: map entries sorted, so a shard has the same bytes whichever process wrote it
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def parse_pair(serialized, image_size=None):
    """Parse one example into a dict of tensors; checks the size when image_size is given."""
    ex = tf.io.parse_single_example(serialized, FEATURES)
    h, w = tf.cast(ex["height"], tf.int32), tf.cast(ex["width"], tf.int32)
    shape = tf.stack([h, w])
    if image_size is not None:
        check = tf.debugging.Assert(
            tf.reduce_all(tf.equal(shape, image_size)),
            [f"wrong size: example is not {image_size}x{image_size}:", ex["cover_id"], shape])
        with tf.control_dependencies([check]):
            shape = tf.constant([image_size, image_size], tf.int32)
    return {
        "cover": tf.reshape(tf.io.decode_raw(ex["cover"], tf.int16, little_endian=True), shape),
        "stego": tf.reshape(tf.io.decode_raw(ex["stego"], tf.int16, little_endian=True), shape),
        "quant_table": tf.reshape(tf.io.decode_raw(ex["quant_table"], tf.float32, little_endian=True), [8, 8]),
        "cover_id": ex["cover_id"],
        "source": ex["source"],
        "algorithm": ex["algorithm"],
        "payload": ex["payload"],
        "dataset_id": ex["dataset_id"],
    }
