"""Four ways to score the same logits, one of them wrong.

For two-class logits z = (z0, z1) and labels y:

    CrossEntropyLoss(z, y)                 = mean(logsumexp(z) - z_y)
    NLLLoss(log_softmax(z), y)             = the same: CrossEntropyLoss *is* this
    BCEWithLogitsLoss(z1 - z0, y)          = the same: softmax of two logits is sigmoid(z1 - z0)
    NLLLoss(softmax(z), y)                 = -mean(p_y): NOT a log-likelihood

The seed article suggests "softmax + NLLLoss" as an alternative to CrossEntropyLoss.
NLLLoss does no logarithm itself; it only picks -input[y]. Fed probabilities, it returns
minus the mean probability of the true class, a number in [-1, 0] whose gradient vanishes
for confident mistakes.
"""

from __future__ import annotations

WHY_WRONG = (
    "NLLLoss expects log-probabilities and only negates the entry of the true class; fed softmax "
    "probabilities it returns -mean(p_true), in [-1, 0], not the log loss"
)


def loss_equivalence(logits, y) -> list[dict]:
    """The four losses on float32 logits (n, 2) and int64 labels (n,), as table rows."""
    import torch
    from torch.nn import functional as F

    z = torch.as_tensor(logits, dtype=torch.float32)
    target = torch.as_tensor(y, dtype=torch.int64)
    reference = F.cross_entropy(z, target)
    values = {
        "CrossEntropyLoss(z)": (reference, True, "softmax + log + NLL in one call"),
        "NLLLoss(log_softmax(z))": (
            F.nll_loss(F.log_softmax(z, dim=1), target),
            True,
            "what CrossEntropyLoss computes",
        ),
        "BCEWithLogitsLoss(z1 - z0)": (
            F.binary_cross_entropy_with_logits(z[:, 1] - z[:, 0], target.to(torch.float32)),
            True,
            "softmax of two logits = sigmoid of their difference",
        ),
        "NLLLoss(softmax(z))": (F.nll_loss(F.softmax(z, dim=1), target), False, WHY_WRONG),
    }
    return [
        {
            "loss": name,
            "value": float(v),
            "abs_diff_vs_cross_entropy": abs(float(v) - float(reference)),
            "equivalent": ok,
            "note": note,
        }
        for name, (v, ok, note) in values.items()
    ]
