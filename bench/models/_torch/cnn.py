"""The seed article's network ("Logit in Deep Neural Network"), exactly as given.

Input 3 x 200 x 200, three 5x5 convolutions (6, 16, 32 channels) each followed by ReLU
and a 2x2 max-pool, then fc1 14112 -> 120, fc2 120 -> 84, fc3 84 -> 2. fc3's two
outputs are the logits: no softmax in the network, CrossEntropyLoss applies it.

The seed's comment says the spatial size goes 200 -> 100 -> 50 -> 25; that would need
padding 2. Unpadded 5x5 convolutions give 200 -> 196 -> 98 -> 94 -> 47 -> 43 -> 21,
which is why the seed's own code flattens 32 * 21 * 21 = 14112. 1,719,598 parameters.

``features_pool_first`` computes ``Net.features`` faster, with the same numbers: training
and inference use it (``torch_cnn``); ``Net`` itself stays as the seed wrote it.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

INPUT_SHAPE = (3, 200, 200)
SEED_COMMENT_SIZES = (200, 100, 50, 25)  # what the seed's comment claims (wrong)


class Net(nn.Module):
    def __init__(self, n_classes: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.conv3 = nn.Conv2d(16, 32, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(32 * 21 * 21, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 84 penultimate features (after fc2's ReLU): what fc3 regresses on."""
        x = self.pool(F.relu(self.conv1(x)))  # (B, 3, 200, 200) -> (B, 6, 196, 196) -> (B, 6, 98, 98)
        x = self.pool(F.relu(self.conv2(x)))  # (B, 16, 94, 94) -> (B, 16, 47, 47)
        x = self.pool(F.relu(self.conv3(x)))  # (B, 32, 43, 43) -> (B, 32, 21, 21)
        x = torch.flatten(x, 1)  # (B, 14112)
        x = F.relu(self.fc1(x))  # (B, 120)
        return F.relu(self.fc2(x))  # (B, 84)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.features(x))  # (B, 2): logits, not probabilities


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2)``, bit for bit, as the maximum of each window's four strided corners.

    ATen's CPU max-pool walks a channels-last tensor with 6 channels one window at a time;
    three element-wise maxima over strided views were 4.6x faster on conv1's
    (32, 6, 196, 196) output (40 -> 8.6 ms, one thread). No autograd of its own that
    matches max_pool2d (torch.maximum splits the gradient of ties): inference only.
    An odd last row or column is dropped, as max_pool2d drops it.
    """
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    top = torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2])  # (B, C, H // 2, W // 2)
    return torch.maximum(top, torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2]))


CONV1_COMPUTED_CHANNELS = 8  # on CPU conv1's 6 filters run as 8: oneDNN's AVX2 kernels work in 8s


def features_pool_first(net: Net, x: torch.Tensor, taps=None) -> torch.Tensor:
    """``net.features(x)`` with each ReLU moved after its max-pool: the same numbers, faster.
    ReLU is monotone, so relu(max(a, b, c, d)) = max(relu(a), ..., relu(d)) exactly, and
    max_pool2d's gradient (to the first maximum of each window) reaches the same weights:
    the ReLU runs on 4x fewer elements. Without gradients the pool is ``max_pool_2x2``.

    On CPU conv1 also runs with two all-zero filters added (8 output channels; bias 0) and
    conv2 with zero weights on those two channels, which stay exactly 0 through pool and
    ReLU: oneDNN convolves 3 -> 8 channels in ~0.6x the time of 3 -> 6 (channels-last, one
    thread), a training step takes ~0.85x and inference ~0.9x, and the features and every
    gradient of the seed's parameters are the same bit for bit (tests); the padding's own
    gradients are dropped by ``F.pad``'s backward. The parameters stay the seed's.

    ``taps(name, tensor)``, if given, receives each stage's output after its ReLU (and pool):
    conv1 (its 6 real channels), conv2, conv3 and fc1 (``bench.models._torch.probes``).
    """
    tap = taps or (lambda name, tensor: None)
    pool = net.pool if torch.is_grad_enabled() else max_pool_2x2
    w1, b1, w2 = net.conv1.weight, net.conv1.bias, net.conv2.weight  # (6, 3, 5, 5), (6,), (16, 6, 5, 5)
    extra = CONV1_COMPUTED_CHANNELS - w1.shape[0] if x.device.type == "cpu" else 0
    if extra > 0:
        layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        w1 = F.pad(w1, (0, 0, 0, 0, 0, 0, 0, extra)).contiguous(memory_format=layout)  # (8, 3, 5, 5)
        b1 = F.pad(b1, (0, extra))  # (8,)
        w2 = F.pad(w2, (0, 0, 0, 0, 0, extra)).contiguous(memory_format=layout)  # (16, 8, 5, 5)
    x = F.relu(pool(F.conv2d(x, w1, b1)))  # (B, 6 or 8, 196, 196) -> (B, 6 or 8, 98, 98)
    tap("conv1", x[:, : net.conv1.out_channels])
    x = F.relu(pool(F.conv2d(x, w2, net.conv2.bias)))  # (B, 16, 94, 94) -> (B, 16, 47, 47)
    tap("conv2", x)
    x = F.relu(pool(net.conv3(x)))  # (B, 32, 43, 43) -> (B, 32, 21, 21)
    tap("conv3", x)
    x = torch.flatten(x, 1)  # (B, 14112)
    x = F.relu(net.fc1(x))  # (B, 120)
    tap("fc1", x)
    return F.relu(net.fc2(x))  # (B, 84)


def n_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def shape_trace(net: Net | None = None) -> list[tuple[str, tuple[int, ...], int]]:
    """(layer, output shape without the batch dimension, parameters) for one forward pass."""
    if net is None:
        with torch.random.fork_rng(devices=[]):  # shapes only: leave the global generator alone
            net = Net()
    rows = [("input", INPUT_SHAPE, 0)]
    x = torch.zeros(1, *INPUT_SHAPE)
    steps = [
        ("conv1", net.conv1),
        ("relu", F.relu),
        ("pool", net.pool),
        ("conv2", net.conv2),
        ("relu", F.relu),
        ("pool", net.pool),
        ("conv3", net.conv3),
        ("relu", F.relu),
        ("pool", net.pool),
        ("flatten", lambda t: torch.flatten(t, 1)),
        ("fc1", net.fc1),
        ("relu", F.relu),
        ("fc2", net.fc2),
        ("relu", F.relu),
        ("fc3 (logits)", net.fc3),
    ]
    with torch.no_grad():
        for name, layer in steps:
            x = layer(x)
            params = n_parameters(layer) if isinstance(layer, nn.Module) and name != "pool" else 0
            rows.append((name, tuple(x.shape[1:]), params))
    return rows


def format_shape_trace() -> str:
    rows = shape_trace()
    lines = [f"{'layer':<14} {'output shape':<18} {'parameters':>10}"]
    lines += [f"{name:<14} {' x '.join(map(str, shape)):<18} {params:>10,}" for name, shape, params in rows]
    total = sum(p for _, _, p in rows)
    spatial = [shape[-1] for name, shape, _ in rows if len(shape) == 3]
    lines += [
        f"{'total':<14} {'':<18} {total:>10,}",
        "",
        "spatial size: " + " -> ".join(str(s) for s in _dedupe(spatial)),
        "the seed's comment says "
        + " -> ".join(map(str, SEED_COMMENT_SIZES))
        + ": wrong; unpadded 5x5 convolutions lose 4 pixels each, so the flatten is 32 x 21 x 21 = 14112.",
    ]
    return "\n".join(lines)


def _dedupe(values: list[int]) -> list[int]:
    out: list[int] = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def forward_flops(net: Net | None = None) -> int:
    """Floating-point operations of one image's forward pass (multiply and add count 2).

    Convolutions: 2 * C_out * H_out * W_out * C_in * k * k; linear layers: 2 * in * out.
    Bias adds, ReLU and pooling are left out (under 1 %). Training is conventionally
    counted as 3x the forward pass (forward, gradient of inputs, gradient of weights).
    """
    if net is None:
        with torch.random.fork_rng(devices=[]):
            net = Net()
    flops = 0
    spatial = {"conv1": 196, "conv2": 94, "conv3": 43}
    for name, layer in net.named_children():
        if isinstance(layer, nn.Conv2d):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            flops += 2 * layer.out_channels * spatial[name] ** 2 * layer.in_channels * k
        elif isinstance(layer, nn.Linear):
            flops += 2 * layer.in_features * layer.out_features
    return flops
