"""Ensembles of detectors: majority vote (as the hybrid paper) and mean probability."""
import numpy as np


def majority_vote(prob_matrix, threshold=0.5):
    """prob_matrix (models, images) of stego probabilities -> votes share per image.

    The returned score is the fraction of models voting stego; ties (an even number of
    models split evenly) are broken by the mean probability.
    """
    p = np.asarray(prob_matrix, dtype=np.float64)
    votes = (p >= threshold).mean(axis=0)
    tie = np.isclose(votes, 0.5)
    mean = p.mean(axis=0)
    return np.where(tie, np.where(mean >= threshold, 0.5 + 1e-9, 0.5 - 1e-9), votes)


def mean_probability(prob_matrix):
    return np.asarray(prob_matrix, dtype=np.float64).mean(axis=0)


def align_members(members, names=None):
    """Line up several models' scores image by image.

    members: [(scores, labels, ids)] per model, ids naming the cover of each image
    (a cover and its stego share an id, told apart by the label). Returns
    (prob_matrix (models, images), labels, ids) in the first member's order.
    Raises ValueError naming the member that scored a different set of images:
    stacking unaligned scores would silently pair one image's score with another's label.
    """
    names = names or [f"model {k}" for k in range(len(members))]
    _, labels, ids = members[0]
    keys = [(str(i), int(y)) for i, y in zip(ids, labels)]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{names[0]}: an image was scored twice (repeated id and label)")
    rows = []
    for name, (scores, y, i) in zip(names, members):
        where = {(str(a), int(b)): k for k, (a, b) in enumerate(zip(i, y))}
        if len(where) != len(keys) or set(where) != set(keys):
            raise ValueError(f"{name}: evaluated a different set of images than {names[0]}")
        rows.append(np.asarray(scores, dtype=np.float64)[[where[k] for k in keys]])
    return np.stack(rows), np.asarray(labels), list(ids)
