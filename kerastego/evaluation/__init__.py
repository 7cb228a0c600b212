"""Evaluation: the papers' metrics, ensembles, ROC plots."""
from kerastego.evaluation.ensemble import align_members, majority_vote, mean_probability
from kerastego.evaluation.evaluate import evaluate, format_report, predict_split
from kerastego.evaluation.metrics import accuracy, best_threshold, p_e, pfa_at_pd, roc_auc, roc_curve, summarize

__all__ = ["align_members", "majority_vote", "mean_probability", "evaluate", "format_report", "predict_split",
           "accuracy", "best_threshold", "p_e", "pfa_at_pd", "roc_auc", "roc_curve", "summarize"]
