"""The seed CNN's training recipe: what a practitioner does with a small image dataset.

- **Inputs** standardised per channel with the mean and standard deviation of the rows the
  network is fitted on (never the validation or test rows), folded into the uint8 -> float
  conversion of each batch: the images stay uint8 in memory.
- **Validation**: a stratified, seeded share of the *training* rows (``validation_rows``); the
  test rows are never used for any choice.
- **Optimiser**: AdamW (decoupled weight decay, Loshchilov & Hutter 2019) with a one-cycle
  schedule (Smith & Topin 2019): the rate rises for the first ``warmup`` share of the planned
  steps to ``lr``, then anneals (cosine) to ~0 at the last planned epoch.
- **Early stopping**: after every epoch the validation log loss is measured; the weights of
  the epoch with the lowest one are kept, and training stops after ``patience`` epochs
  without a lower one.

Everything is deterministic on CPU for a seed: the validation rows, the initial weights (set
by the caller), the batch order (a ``torch.Generator``) and AdamW itself.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F


def validation_rows(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices into the training rows: round(fraction * n_class) of each class (at least
    one where a class has two or more rows, so that it is both fitted and validated), drawn with
    ``seed``."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        rng.shuffle(rows)
        take = max(1, int(round(fraction * rows.size))) if rows.size >= 2 else 0
        chosen.append(rows[:take])
    return np.sort(np.concatenate(chosen))


def channel_statistics(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation of uint8 images (n, C, H, W), exactly, from each
    channel's histogram of the 256 values (no float copy of the images)."""
    values = np.arange(256, dtype=np.float64)
    mean, std = [], []
    for channel in range(images.shape[1]):
        counts = np.bincount(images[:, channel].reshape(-1), minlength=256).astype(np.float64)
        m = counts @ values / counts.sum()
        mean.append(m)
        std.append(math.sqrt(counts @ (values - m) ** 2 / counts.sum()))
    return np.array(mean), np.maximum(np.array(std), 1e-12)  # a constant channel stays finite


class Standardize:
    """uint8 batch (B, C, H, W) -> float32 (x - mean) / std, on the device, channels-last kept."""

    def __init__(self, mean: np.ndarray, std: np.ndarray, device) -> None:
        shape = (1, len(mean), 1, 1)
        self.scale = torch.tensor(1.0 / std, dtype=torch.float32, device=device).view(shape)
        self.shift = torch.tensor(-mean / std, dtype=torch.float32, device=device).view(shape)
        self.device = device

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return images.to(self.device, non_blocking=True).float().mul_(self.scale).add_(self.shift)


@dataclass
class Curve:
    """What training did: one row per (epoch, split) and which epoch's weights were kept."""

    rows: list[dict] = field(default_factory=list)  # epoch, split, loss, accuracy, seconds
    chosen_epoch: int = 0
    epochs_trained: int = 0
    reason: str = ""
    train_seconds: float = 0.0  # the optimiser's batches only, without the validation passes
    images_trained: int = 0


def evaluate(net, logits, batches) -> tuple[float, float, int]:
    """(mean log loss, accuracy, rows) of ``logits(net, x)`` over ``batches`` of (x, y), no gradients."""
    net.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in batches:
            z = logits(net, x)
            total += float(F.cross_entropy(z, y, reduction="sum"))
            correct += int((z.argmax(dim=1) == y).sum())
            n += len(y)
    return total / n, correct / n, n


def train(
    net, logits, batch, y, fit_rows: np.ndarray, val_rows: np.ndarray, settings: dict, seed: int, eval_batch: int
) -> Curve:
    """Train ``net`` with the recipe above; on return it holds the kept epoch's weights.

    ``logits(net, x)`` -> (B, K); ``batch(rows)`` -> the standardised images of those training
    rows; ``y``: (n_train,) int64 labels on the device. ``fit_rows`` and ``val_rows`` index the
    training rows.
    """
    size, epochs, patience = settings["batch_size"], settings["epochs"], settings["patience"]
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])
    steps = math.ceil(len(fit_rows) / size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=settings["lr"], total_steps=epochs * steps, pct_start=settings["warmup"]
    )
    generator = torch.Generator().manual_seed(seed)
    fit_rows, curve, best, best_state = torch.from_numpy(fit_rows), Curve(), math.inf, None
    val_rows = torch.from_numpy(val_rows)

    def val_batches():  # converted batch by batch each epoch: no float copy of the validation images kept
        return ((batch(rows), y[rows]) for rows in val_rows.split(eval_batch))

    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        epoch_start, total, correct = time.perf_counter(), 0.0, 0
        net.train()
        for rows in fit_rows[torch.randperm(len(fit_rows), generator=generator)].split(size):
            optimizer.zero_grad(set_to_none=True)
            z = logits(net, batch(rows))  # (B, K)
            loss = F.cross_entropy(z, y[rows])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(rows)  # float() waits for any device
            correct += int((z.detach().argmax(dim=1) == y[rows]).sum())
        curve.train_seconds += time.perf_counter() - epoch_start
        val_loss, val_accuracy, _ = evaluate(net, logits, val_batches())
        seconds = time.perf_counter() - start
        curve.rows += [
            {
                "epoch": epoch,
                "split": "train",
                "loss": total / len(fit_rows),
                "accuracy": correct / len(fit_rows),
                "seconds": seconds,
            },
            {"epoch": epoch, "split": "validation", "loss": val_loss, "accuracy": val_accuracy, "seconds": seconds},
        ]
        curve.epochs_trained, curve.images_trained = epoch, curve.images_trained + len(fit_rows)
        if val_loss < best:
            best, best_state, curve.chosen_epoch = val_loss, copy.deepcopy(net.state_dict()), epoch
        elif epoch - curve.chosen_epoch >= patience:
            curve.reason = (
                f"the lowest validation log loss ({best:.4g}); none lower in the {patience} epochs after it, "
                f"so training stopped at epoch {epoch} of {epochs}"
            )
            break
    if best_state is None:
        raise RuntimeError("the validation log loss was not finite in any epoch (the training diverged)")
    if not curve.reason:
        curve.reason = f"the lowest validation log loss ({best:.4g}) in all {epochs} epochs"
    net.load_state_dict(best_state)
    return curve
