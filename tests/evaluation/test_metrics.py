import numpy as np
import pytest

from kerastego.evaluation import accuracy, majority_vote, mean_probability, p_e, pfa_at_pd, roc_auc

# 4 covers, 4 stegos, scores chosen by hand
SCORES = [0.1, 0.4, 0.35, 0.8, 0.9, 0.6, 0.3, 0.7]
LABELS = [0, 0, 0, 0, 1, 1, 1, 1]


def test_accuracy_by_hand():
    # covers right: 0.1, 0.4, 0.35 (3); stegos right: 0.9, 0.6, 0.7 (3) -> 6/8
    assert accuracy(SCORES, LABELS) == 0.75


def test_pe_by_hand():
    # threshold 0.6: PFA = 1/4 (0.8), PMD = 1/4 (0.3) -> 0.25; threshold 0.3: PFA 3/4... best is 0.25
    assert p_e(SCORES, LABELS) == 0.25


def test_pfa_at_pd_by_hand():
    # stego scores 0.9, 0.7, 0.6, 0.3. PD >= 0.25 needs t <= 0.9 -> PFA 0.
    # PD >= 0.3 and >= 0.5 need two stegos, t <= 0.7 -> cover 0.8 flagged -> 1/4;
    # PD >= 0.7 needs three, t <= 0.6 -> still 1/4; PD = 1 needs t <= 0.3 -> 0.35, 0.4, 0.8 -> 3/4.
    assert pfa_at_pd(SCORES, LABELS, 0.25) == 0.0
    assert pfa_at_pd(SCORES, LABELS, 0.3) == 0.25
    assert pfa_at_pd(SCORES, LABELS, 0.5) == 0.25
    assert pfa_at_pd(SCORES, LABELS, 0.7) == 0.25
    assert pfa_at_pd(SCORES, LABELS, 1.0) == 0.75


def test_auc_by_hand():
    # pairs (stego > cover): 0.9 beats 4, 0.6 beats 3, 0.3 beats 1, 0.7 beats 3 -> 11/16
    assert roc_auc(SCORES, LABELS) == pytest.approx(11 / 16)
    assert roc_auc([0.5, 0.5], [0, 1]) == 0.5


def test_majority_vote_and_mean():
    probs = np.array([[0.9, 0.2, 0.6], [0.8, 0.4, 0.3], [0.1, 0.7, 0.4]])
    np.testing.assert_allclose(majority_vote(probs), [2 / 3, 1 / 3, 1 / 3])
    np.testing.assert_allclose(mean_probability(probs), [0.6, 13 / 30, 13 / 30])
    two = np.array([[0.9, 0.2], [0.3, 0.6]])   # 1-1 ties broken by the mean probability
    v = majority_vote(two)
    assert v[0] > 0.5 and v[1] < 0.5


def test_needs_both_classes():
    with pytest.raises(ValueError, match="both"):
        p_e([0.1, 0.2], [0, 0])


def test_best_threshold_reaches_pe():
    from kerastego.evaluation import best_threshold, summarize
    t = best_threshold(SCORES, LABELS)
    assert 1 - accuracy(SCORES, LABELS, t) == pytest.approx(p_e(SCORES, LABELS))
    s = summarize(SCORES, LABELS, threshold=t)
    assert s["accuracy_at_threshold"] == pytest.approx(1 - s["p_e"]) and s["threshold"] == t


def test_align_members_reorders_by_image():
    from kerastego.evaluation import align_members
    first = ([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], ["a", "a", "b", "b"])
    # the same images in another order: b-stego, a-cover, b-cover, a-stego
    second = ([0.7, 0.3, 0.4, 0.6], [1, 0, 0, 1], ["b", "a", "b", "a"])
    probs, labels, ids = align_members([first, second], ["m1", "m2"])
    np.testing.assert_allclose(probs[1], [0.3, 0.6, 0.4, 0.7])
    np.testing.assert_array_equal(labels, [0, 1, 0, 1])
    assert ids == ["a", "a", "b", "b"]
    other = ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], ["a", "a", "c", "c"])
    with pytest.raises(ValueError, match="m3: evaluated a different set"):
        align_members([first, other], ["m1", "m3"])


def test_evaluation_reads_in_a_fixed_order(small_dataset):
    """Repeated reads of one split give the same order (ensembles rely on it)."""
    from kerastego.data import make_dataset
    pattern = str(small_dataset["records"] / "train-*")
    orders = [[i.decode() for _, _, ids in make_dataset(pattern, 3, training=False, with_ids=True)
               for i in ids.numpy()] for _ in range(5)]
    assert all(o == orders[0] for o in orders) and len(orders[0]) > 40


def test_test_time_views_average_the_flipped_predictions(small_dataset, tmp_path):
    """views=2 is the mean of the model on the images and on their left-right flips."""
    import keras
    from kerastego.data import make_dataset
    from kerastego.data.augment import dihedral_batch
    from kerastego.evaluation.evaluate import evaluate, predict_split
    from kerastego.models import build_model
    keras.utils.set_random_seed(3)
    model = build_model("hybrid-type2", input_shape=(64, 64, 1), input_kind="coefficients")
    pattern = str(small_dataset["records"] / "test-*")
    p1, y1, i1 = predict_split(model, pattern, 8)
    p2, y2, i2 = predict_split(model, pattern, 8, views=2)
    flipped = np.concatenate([model(dihedral_batch(x, 1), training=False).numpy()[:, 1]
                              for x, _ in make_dataset(pattern, 8, training=False, image_size=64)])
    assert i1 == i2 and np.array_equal(y1, y2)
    np.testing.assert_allclose(p2, (p1 + flipped) / 2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(p1, flipped)                 # the views differ, so the average is not trivial
    report = evaluate([model], pattern, names=["m"], views=2)
    assert report["views"] == 2 and report["models"]["m"]["n"] == len(p2)
    with pytest.raises(ValueError, match="views must be one of"):
        predict_split(model, pattern, 8, views=3)
