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
