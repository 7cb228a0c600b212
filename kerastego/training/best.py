"""The best-model keeper: which validation score counts, whether a validation
improved on the best so far, and the bookkeeping of the best step (checkpointed in
TrainState so a resume keeps comparing against the same best)."""


class BestKeeper:
    """select_by="accuracy": highest validation accuracy at threshold 0.5 (the papers'
    rule: the decision the model makes on its own); "p_e": lowest P_E."""

    def __init__(self, select_by, state):
        self.rule, self.state = select_by, state

    def score(self, val):
        return val["accuracy"] if self.rule == "accuracy" else 1.0 - val["p_e"]

    def improves(self, val):
        return self.score(val) > float(self.state.best.numpy())

    def record(self, val, step):
        s = self.state
        s.best.assign(self.score(val))
        s.best_accuracy.assign(val["accuracy"])
        s.best_pe.assign(val["p_e"])
        s.best_threshold.assign(val["threshold"])
        s.best_step.assign(step)

    def summary(self):
        """The best step's validation accuracy (threshold 0.5), P_E and the P_E threshold."""
        s = self.state
        kept = float(s.best.numpy()) >= 0
        return {"select_by": self.rule,
                "best_val_accuracy": float(s.best_accuracy.numpy()) if float(s.best_accuracy.numpy()) >= 0 else None,
                "best_val_p_e": float(s.best_pe.numpy()) if float(s.best_pe.numpy()) >= 0 else None,
                "best_val_threshold": float(s.best_threshold.numpy()) if kept else None,
                "best_step": int(s.best_step.numpy()) or None}
