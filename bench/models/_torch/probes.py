"""Linear probes through the seed CNN (Alain & Bengio, arXiv 1610.01644): the features at each depth.

Five probe points, each a layer's output after its ReLU (and pool):

    depth 1  conv1 + ReLU + pool   (6, 98, 98)  -> adaptive average pool to 2 x 2 ->  24 features
    depth 2  conv2 + ReLU + pool   (16, 47, 47) -> 2 x 2                           ->  64
    depth 3  conv3 + ReLU + pool   (32, 21, 21) -> 2 x 2                           -> 128
    depth 4  fc1 + ReLU                                                            -> 120
    depth 5  fc2 + ReLU (what fc3 reads: the last-layer refit's 84 features)       ->  84

Why 2 x 2: a whole map per channel (1 x 1) keeps only how much of a pattern there is, not
where; the full maps have 57,624, 35,344 and 14,112 values, more than the rows. 2 x 2
keeps a coarse where (quadrants) at 4 features a channel, so every probe has fewer features
than the quick suite's training rows. Features are the channel-major flattening of
``F.adaptive_avg_pool2d(x, 2)``: ``conv2_c03_q1`` is channel 3's top-right quadrant.

``hooked_probes`` takes them with forward hooks on the seed's own ``Net.forward`` (the pool
module fires once per convolution stage, in order; fc1 and fc2's hooks apply the ReLU that
``Net.features`` applies after them). ``tapped_probes`` reads the same points out of
``features_pool_first`` (the faster forward that training and inference use): the same
numbers, since ReLU commutes with max-pooling; a test checks the two against each other and
against the layers applied by hand. Both run in batches, uint8 images converted per batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from bench.models._torch import cnn

GRID = 2  # adaptive average pooling of each convolution stage's maps to GRID x GRID
LAYERS = ("conv1", "conv2", "conv3", "fc1", "fc2")  # depth = position + 1
CHANNELS = {"conv1": 6, "conv2": 16, "conv3": 32}


def feature_names(layer: str) -> tuple[str, ...]:
    if layer in CHANNELS:
        return tuple(f"{layer}_c{c:02d}_q{q}" for c in range(CHANNELS[layer]) for q in range(GRID * GRID))
    width = {"fc1": 120, "fc2": 84}[layer]
    return tuple(f"{layer}_{j + 1:03d}" for j in range(width))


def _reduce(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) maps -> (B, C * GRID * GRID), channel-major; (B, F) vectors as they are."""
    return torch.flatten(F.adaptive_avg_pool2d(x, GRID), 1) if x.dim() == 4 else x


def hooked_probes(net: cnn.Net, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The five probe points of one batch, by forward hooks on the seed's ``Net.forward``."""
    pooled: list[torch.Tensor] = []
    out: dict[str, torch.Tensor] = {}
    hooks = [
        # Net.features calls pool(relu(conv_k(x))) for k = 1, 2, 3: the pool's outputs, in order
        net.pool.register_forward_hook(lambda m, i, o: pooled.append(_reduce(o))),
        net.fc1.register_forward_hook(lambda m, i, o: out.__setitem__("fc1", F.relu(o))),
        net.fc2.register_forward_hook(lambda m, i, o: out.__setitem__("fc2", F.relu(o))),
    ]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for hook in hooks:
            hook.remove()
    return {"conv1": pooled[0], "conv2": pooled[1], "conv3": pooled[2], **out}


def tapped_probes(net: cnn.Net, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The five probe points and the logits of one batch, from ``features_pool_first``'s stages."""
    taps: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        h = cnn.features_pool_first(net, x, taps=lambda name, t: taps.__setitem__(name, _reduce(t)))
        taps["fc2"] = h
        return taps, net.fc3(h)


def extract(net: cnn.Net, n_rows: int, batch, batch_size: int) -> dict[str, np.ndarray]:
    """Every probe point for rows 0..n_rows-1 as float64 arrays (n_rows, n_features).
    ``batch(rows)`` gives the network's input for a slice of rows (converted per batch)."""
    net.eval()
    parts: dict[str, list[np.ndarray]] = {layer: [] for layer in LAYERS}
    for start in range(0, n_rows, batch_size):
        taps, _ = tapped_probes(net, batch(slice(start, start + batch_size)))
        for layer in LAYERS:
            parts[layer].append(taps[layer].cpu().numpy())
    return {layer: np.ascontiguousarray(np.concatenate(parts[layer]), dtype=np.float64) for layer in LAYERS}
