import numpy as np
import pytest
import tensorflow as tf

from data_tools.covers import cover_index
from data_tools.embed import stego_index
from kerastego.data import DataError, count_and_check, dihedral, make_dataset
from kerastego.jpeg_io import read_coefficients
from kerastego.layers import decompress_numpy


def test_round_trip_coefficients_equal_jpeg_files(small_dataset):
    root = small_dataset["root"]
    covers = cover_index(str(root / "covers"))
    _, stegos = stego_index(str(root / "nsf5"))
    ds = make_dataset(str(root / "records" / "test-*"), batch_pairs=8, training=False, image_size=64, with_ids=True)
    n = 0
    for x, y, ids in ds.take(3):
        for i in range(0, len(ids), 2):
            cid = ids[i].numpy().decode()
            assert ids[i + 1].numpy().decode() == cid and list(y[i:i + 2].numpy()) == [0, 1]
            c, qt, _ = read_coefficients(covers[cid]["path"])
            s, _, _ = read_coefficients(stegos[cid])
            np.testing.assert_array_equal(x["coefficients"][i].numpy(), c)
            np.testing.assert_array_equal(x["coefficients"][i + 1].numpy(), s)
            np.testing.assert_array_equal(x["quant_table"][i].numpy(), qt)
            n += 1
    assert n == 24


def test_test_split_holds_only_its_sources(small_dataset):
    import json
    split = json.loads((small_dataset["records"] / "split.json").read_text())["sources"]
    ds = make_dataset(str(small_dataset["records"] / "train-*"), 16, training=False, with_ids=True)
    sources = {cid.numpy().decode().rsplit("_r", 1)[0] for _, _, ids in ds for cid in ids}
    assert sources == set(split["train"])


@pytest.mark.parametrize("op", range(8))
def test_dihedral_in_dct_domain_is_exact(real_jpegs, op):
    c, qt, _ = read_coefficients(real_jpegs[2])
    (ca,), qa = dihedral([tf.constant(c)], tf.constant(qt), op)
    img = decompress_numpy(c, qt)
    if op % 2:
        img = img[:, ::-1]
    if (op // 2) % 2:
        img = img[::-1, :]
    if op // 4:
        img = img.T
    np.testing.assert_allclose(decompress_numpy(ca.numpy(), qa.numpy()), img, atol=1e-9)


@pytest.mark.parametrize("op", range(8))
def test_dihedral_batch_matches_per_image_op_in_both_domains(real_jpegs, op):
    from kerastego.data.augment import dihedral_batch
    from kerastego.layers import decompress_tf
    planes = [read_coefficients(p)[:2] for p in real_jpegs[:3]]
    x = {"coefficients": tf.constant(np.stack([c for c, _ in planes]).astype(np.int16)),
         "quant_table": tf.constant(np.stack([q for _, q in planes]).astype(np.float32))}
    out = dihedral_batch(x, op)
    for k, (c, q) in enumerate(planes):
        (ca,), qa = dihedral([tf.constant(c.astype(np.int16))], tf.constant(q.astype(np.float32)), op)
        np.testing.assert_array_equal(out["coefficients"][k].numpy(), ca.numpy())
        np.testing.assert_array_equal(out["quant_table"][k].numpy(), qa.numpy())
    pixels = decompress_tf(x["coefficients"], x["quant_table"])              # (B, H, W, 1)
    np.testing.assert_allclose(dihedral_batch(pixels, op).numpy(),
                               decompress_tf(out["coefficients"], out["quant_table"]).numpy(), atol=1e-3)
    if op:
        assert not np.array_equal(out["coefficients"].numpy(), x["coefficients"].numpy())


def test_pairs_intact_after_shuffle_and_augmentation(small_dataset):
    root = small_dataset["root"]
    covers = cover_index(str(root / "covers"))
    ds = make_dataset(str(root / "records" / "train-*"), batch_pairs=6, training=True, image_size=64,
                      with_ids=True, seed=1)
    augmented = 0
    for x, y, ids in ds.take(5):
        coef = x["coefficients"].numpy()
        assert coef.shape == (12, 64, 64)
        assert list(y.numpy()) == [0, 1] * 6
        for i in range(0, 12, 2):
            assert ids[i] == ids[i + 1]
            diff = np.count_nonzero(coef[i] != coef[i + 1])
            assert 0 < diff < 0.2 * np.count_nonzero(coef[i])   # same transform on both members
            c, _, _ = read_coefficients(covers[ids[i].numpy().decode()]["path"])
            augmented += not np.array_equal(coef[i], c)
    assert augmented > 10  # 7 of 8 ops change the image


def test_deterministic_when_asked(small_dataset):
    pattern = str(small_dataset["records"] / "train-*")
    runs = [[b[2].numpy().tolist() for b in make_dataset(pattern, 4, True, seed=5, deterministic=True,
                                                         with_ids=True).take(4)] for _ in range(2)]
    assert runs[0] == runs[1]


def test_spatial_output_and_wrong_size(small_dataset):
    pattern = str(small_dataset["records"] / "val-*")
    x, y = next(iter(make_dataset(pattern, 2, training=False, input_kind="spatial")))
    assert x.shape == (4, 64, 64, 1) and x.dtype == tf.float32
    with pytest.raises(tf.errors.InvalidArgumentError, match="wrong size"):
        next(iter(make_dataset(pattern, 2, training=False, image_size=128)))


def test_truncated_tfrecord_named(small_dataset, tmp_path):
    src = sorted((small_dataset["records"]).glob("train-*"))[0]
    data = src.read_bytes()
    bad = tmp_path / "train-00000-of-00001.tfrecord"
    bad.write_bytes(data[: len(data) - 1000])
    with pytest.raises(DataError, match="train-00000-of-00001.tfrecord: truncated or corrupt TFRecord"):
        count_and_check(str(bad))
    with pytest.raises(DataError, match="no TFRecord files match"):
        make_dataset(str(tmp_path / "nothing-*"), 2, True)


def test_compressed_shards_read_the_same(small_dataset, tmp_path):
    from data_tools.tfrecords import make_tfrecords
    root = small_dataset["root"]
    make_tfrecords(str(root / "covers"), [str(root / "nsf5")], str(tmp_path), {"train": 0.5, "val": 0.17, "test": 0.33},
                   seed=3, pairs_per_shard=40, compress=True, workers=1)
    a = [b[2].numpy().tolist() for b in make_dataset(str(tmp_path / "test-*.gz"), 8, False, with_ids=True)]
    b = [b[2].numpy().tolist() for b in make_dataset(str(root / "records" / "test-*"), 8, False, with_ids=True)]
    assert sorted(sum(a, [])) == sorted(sum(b, []))


def test_distributed_dataset_under_mirrored_strategy(small_dataset, strategy):
    ds = make_dataset(str(small_dataset["records"] / "train-*"), batch_pairs=4, training=True, seed=0)
    dist = strategy.experimental_distribute_dataset(ds)
    x, y = next(iter(dist))
    parts = strategy.experimental_local_results(y)
    assert len(parts) == 2 and all(list(p.numpy()) == [0, 1, 0, 1] for p in parts)  # pairs stay whole per replica


def test_tf_data_service(small_dataset):
    dispatcher = tf.data.experimental.service.DispatchServer()
    worker = tf.data.experimental.service.WorkerServer(  # noqa: F841
        tf.data.experimental.service.WorkerConfig(dispatcher_address=dispatcher.target.split("://")[1]))
    ds = make_dataset(str(small_dataset["records"] / "val-*"), 2, training=False, with_ids=True,
                      data_service=dispatcher.target)
    ids = [i.numpy().decode() for _, _, b in ds for i in b]
    local = [i.numpy().decode() for _, _, b in make_dataset(str(small_dataset["records"] / "val-*"), 2, False,
                                                            with_ids=True) for i in b]
    assert sorted(ids) == sorted(local) and len(ids) > 0
