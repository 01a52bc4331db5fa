"""The fusion network: a compact U-Net over the classical candidates. Training and export only.

Input: the features of `core.model.features`, NCHW ``(N, 29, H, W)`` float32 with H and W
multiples of `FusionNet.stride`. Output: ``(N, 4, H, W)`` fusion logits (the log-prior of
t already added), ``(N, 3, H, W)`` RGB residual and ``(N, 8, H, W)`` corrections of the
four candidates' flows; `fuse` re-warps the candidates with the corrected flows and turns
the outputs into the frame exactly as `core.model.features` does in numpy.

Design (measured choices in docs/model_card.md):

* the net sees the 29 feature planes plus the pairwise differences of the candidates
  (where the candidates disagree is where fusion matters; an abs() of them is cheap and a
  linear first layer cannot form it);
* four scales, stride 8; each decoder stage convolves at the coarse scale first and then
  upsamples bilinearly (4x cheaper than upsample-then-convolve at the fine scale), then
  fuses with the skip connection;
* flows enter scaled by `FLOW_INPUT_SCALE` (pixels are tens, the other planes are in
  [0, 1]); flow corrections come from the 1/2-scale decoder stage, upsampled, so they are
  smooth and cost a quarter of a full-scale head;
* optionally (``cost_radius > 0``) a cost volume at 1/4 scale enters the encoder: for each
  pair of candidates that should agree (frame 0 and frame 1 warped to t by the same flow
  estimate), the RGB distance between the two after shifting one by every offset within
  the radius. It is the matching evidence the flow corrections need; without it the net
  only saw where the candidates disagree, not where they would agree;
* optionally (``fine_cost_radius > 0``) a second one at 1/2 scale enters the encoder's 1/2
  stage, which the flow corrections' decoder stage reads through its skip connection:
  2-pixel cells instead of 4, for the small errors on sharp detail;
* the heads are zero-initialised and the log-prior of t is added to the logits, so an
  untrained net reproduces the classical frame exactly.
"""
from __future__ import annotations

from itertools import product

import torch
import torch.nn.functional as F
from torch import nn

from segue.core.model.features import (
    CANDIDATE_SLICES,
    FEATURE_CHANNELS,
    FLOW_SLICES,
    SOURCE_SLICES,
    T_CHANNEL,
)

#: t is clamped to [T_EPS, 1 - T_EPS] before its log-prior is taken (finite logits at 0 and 1)
T_EPS = 1e-3
#: default channel widths per scale (full, 1/2, 1/4, 1/8), chosen by measured latency
DEFAULT_WIDTHS = (16, 32, 48, 64)
_PAIRS = ((0, 1), (2, 3), (0, 2), (1, 3))  # candidate differences fed to the net
LEAKY_SLOPE = 0.1
#: flow planes are multiplied by this on input (typical flows of tens of pixels -> ~1)
FLOW_INPUT_SCALE = 1.0 / 16.0
#: candidate pairs compared by the cost volume: same flow estimate, frame 0 vs frame 1
_COST_PAIRS = ((0, 1), (2, 3))
#: the cost volume's scale (it enters the encoder at this stride)
COST_STRIDE = 4
#: the fine cost volume's scale
FINE_COST_STRIDE = 2


def _difference_weights() -> torch.Tensor:
    """A fixed 1x1 convolution computing ``cand_i - cand_j`` for every pair in `_PAIRS`."""
    w = torch.zeros(3 * len(_PAIRS), FEATURE_CHANNELS, 1, 1)
    for p, (i, j) in enumerate(_PAIRS):
        for c in range(3):
            w[3 * p + c, CANDIDATE_SLICES[i].start + c] = 1.0
            w[3 * p + c, CANDIDATE_SLICES[j].start + c] = -1.0
    return w


def _shift_weights(radius: int) -> torch.Tensor:
    """Grouped-convolution weights that copy each RGB plane at every offset within ``radius``.

    With ``groups=3`` on an input padded by ``radius``, output channel ``c * K + i`` is plane
    c shifted by offset i (``K = (2 radius + 1) ** 2`` offsets, row-major). One convolution
    replaces K slices in the exported graph.
    """
    k = 2 * radius + 1
    w = torch.zeros(3 * k * k, 1, k, k)
    for c in range(3):
        for i, (dy, dx) in enumerate(product(range(k), range(k))):
            w[c * k * k + i, 0, dy, dx] = 1.0
    return w


def _channel_sum_weights(offsets: int) -> torch.Tensor:
    """1x1 weights summing the three colour channels of each offset (``c * K + i`` -> ``i``)."""
    w = torch.zeros(offsets, 3 * offsets, 1, 1)
    for c in range(3):
        w[torch.arange(offsets), c * offsets + torch.arange(offsets)] = 1.0
    return w


def _input_scale() -> torch.Tensor:
    scale = torch.ones(1, FEATURE_CHANNELS, 1, 1)
    for sl in FLOW_SLICES:
        scale[:, sl] = FLOW_INPUT_SCALE
    return scale


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    # LeakyReLU rather than PReLU: onnxruntime fuses it into the convolution (PReLU cost
    # a separate pass over every activation, 15% of the runtime at 960x540).
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.LeakyReLU(LEAKY_SLOPE))


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def log_prior(t: torch.Tensor) -> torch.Tensor:
    """``log(prior(t))`` of `core.model.features.prior` for a ``(N, 1, H, W)`` t plane -> ``(N, 4, H, W)``."""
    t = t.clamp(T_EPS, 1.0 - T_EPS)
    a, b = torch.log((1.0 - t) * 0.5), torch.log(t * 0.5)
    return torch.cat([a, b, a, b], dim=1)


class CostVolume(nn.Module):
    """``(N, 2 K, H/s, W/s)``: per `_COST_PAIRS` pair and offset d within ``radius`` cells,
    ``sum_rgb |a(p + d) - b(p)|``, K = ``(2 radius + 1) ** 2`` offsets, row-major.

    a and b are the pair's candidates averaged over s x s blocks (s = ``stride``); offsets
    beyond the edge repeat the edge (the kernels' convention). No trainable weights.
    """

    def __init__(self, radius: int, stride: int) -> None:
        super().__init__()
        self.radius, self.stride = radius, stride
        self.offsets = (2 * radius + 1) ** 2
        self.register_buffer("shift_weight", _shift_weights(radius), persistent=False)
        self.register_buffer("copy_weight", torch.ones(3 * self.offsets, 1, 1, 1), persistent=False)
        self.register_buffer("sum_weight", _channel_sum_weights(self.offsets), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.radius
        costs = []
        for i, j in _COST_PAIRS:
            a = F.avg_pool2d(x[:, CANDIDATE_SLICES[i]], self.stride)
            b = F.avg_pool2d(x[:, CANDIDATE_SLICES[j]], self.stride)
            shifted = F.conv2d(F.pad(a, (r, r, r, r), mode="replicate"), self.shift_weight, groups=3)
            diff = (shifted - F.conv2d(b, self.copy_weight, groups=3)).abs()
            costs.append(F.conv2d(diff, self.sum_weight))
        return torch.cat(costs, dim=1)


def _channels(volume: CostVolume | None) -> int:
    """Channels a cost volume adds to the encoder stage it enters (0 without one)."""
    return 0 if volume is None else len(_COST_PAIRS) * volume.offsets


class FusionNet(nn.Module):
    """Fusion logits, residual and flow corrections from the candidate features (module docstring)."""

    def __init__(self, widths: tuple[int, int, int, int] = DEFAULT_WIDTHS, cost_radius: int = 0,
                 fine_cost_radius: int = 0) -> None:
        super().__init__()
        c0, c1, c2, c3 = widths
        self.widths = tuple(widths)
        self.cost_radius = int(cost_radius)
        self.fine_cost_radius = int(fine_cost_radius)
        self.cost_volume = CostVolume(self.cost_radius, COST_STRIDE) if self.cost_radius > 0 else None
        self.fine_cost_volume = (CostVolume(self.fine_cost_radius, FINE_COST_STRIDE)
                                 if self.fine_cost_radius > 0 else None)
        cin = FEATURE_CHANNELS + 3 * len(_PAIRS)
        self.enc0 = _conv(cin, c0)
        self.enc1 = nn.Sequential(_conv(c0, c1, 2), _conv(c1 + _channels(self.fine_cost_volume), c1))
        self.enc2 = nn.Sequential(_conv(c1, c2, 2), _conv(c2 + _channels(self.cost_volume), c2))
        self.enc3 = nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3), _conv(c3, c3))
        self.up3 = _conv(c3, c2)
        self.dec2 = _conv(2 * c2, c2)
        self.up2 = _conv(c2, c1)
        self.dec1 = _conv(2 * c1, c1)
        self.up1 = _conv(c1, c0)
        self.dec0 = _conv(2 * c0, c0)
        self.head = nn.Conv2d(c0, 7, 3, 1, 1)
        self.flow_head = nn.Conv2d(c1, 8, 3, 1, 1)
        # One fixed convolution for all candidate differences: a single pass in the exported
        # graph instead of eight slices and four subtractions.
        self.register_buffer("diff_weight", _difference_weights(), persistent=False)
        self.register_buffer("input_scale", _input_scale(), persistent=False)
        # Zero heads: logits = log prior(t), residual = 0, deltas = 0: the classical frame at init.
        for head in (self.head, self.flow_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    #: input sizes must be multiples of this (three 2x downsamplings)
    stride = 8

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(N, 29, H, W)`` features -> logits ``(N, 4, H, W)``, residual ``(N, 3, H, W)``, deltas ``(N, 8, H, W)``."""
        # The first convolution's bias absorbs any centring of the [0, 1] planes.
        inp = torch.cat([x * self.input_scale, F.conv2d(x, self.diff_weight).abs()], dim=1)
        e0 = self.enc0(inp)
        e1 = self.enc1[0](e0)
        if self.fine_cost_volume is not None:
            e1 = torch.cat([e1, self.fine_cost_volume(x)], dim=1)
        e1 = self.enc1[1](e1)
        e2 = self.enc2[0](e1)
        if self.cost_volume is not None:
            e2 = torch.cat([e2, self.cost_volume(x)], dim=1)
        e2 = self.enc2[1](e2)
        e3 = self.enc3(e2)
        d2 = self.dec2(torch.cat([_up(self.up3(e3)), e2], dim=1))
        d1 = self.dec1(torch.cat([_up(self.up2(d2)), e1], dim=1))
        d0 = self.dec0(torch.cat([_up(self.up1(d1)), e0], dim=1))
        out = self.head(d0)
        logits = out[:, :4] + log_prior(x[:, T_CHANNEL:T_CHANNEL + 1])
        return logits, out[:, 4:7], _up(self.flow_head(d1))


def backward_warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """`core.warp.backward_warp` in torch: bilinear, coordinates clamped to the edges.

    ``image`` (N, C, H, W), ``flow`` (N, 2, H, W) of (dx, dy) pixels. With
    ``align_corners=True`` pixel centres sit at -1 and 1, and ``border`` padding clamps the
    sampling coordinate, which is exactly the native kernel's edge replication.
    """
    _, _, h, w = image.shape
    ys = torch.arange(h, dtype=flow.dtype).view(1, h, 1)
    xs = torch.arange(w, dtype=flow.dtype).view(1, 1, w)
    gx = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    return F.grid_sample(image, torch.stack([gx, gy], dim=3), mode="bilinear", padding_mode="border",
                         align_corners=True)


def fuse(x: torch.Tensor, logits: torch.Tensor, residual: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """The frame ``sum_k softmax(logits)_k * warp(source_k, flow_k + delta_k) + residual``, ``(N, 3, H, W)``."""
    n = x.shape[0]
    sources = torch.cat([x[:, sl] for sl in SOURCE_SLICES], dim=0)
    flows = torch.cat([x[:, sl] + deltas[:, 2 * k:2 * k + 2] for k, sl in enumerate(FLOW_SLICES)], dim=0)
    warped = backward_warp(sources, flows)
    weights = torch.softmax(logits, dim=1)
    out = residual
    for k in range(len(SOURCE_SLICES)):
        out = out + weights[:, k:k + 1] * warped[k * n:(k + 1) * n]
    return out


def net_from_state(state: dict) -> FusionNet:
    """The `FusionNet` a training checkpoint's contents describe, with its weights."""
    net = FusionNet(tuple(state["widths"]), int(state.get("cost_radius", 0)), int(state.get("fine_cost_radius", 0)))
    net.load_state_dict(state["model"])
    return net


def load_widened(net: nn.Module, weights: dict[str, torch.Tensor]) -> list[str]:
    """Load ``weights`` into ``net`` where some of its convolutions take extra input channels.

    The extra input channels (appended after the old ones, as the cost volume is) get zero
    weights, so the net computes exactly what the old weights did and training starts
    from there. Returns the names of the widened parameters; any other mismatch raises.
    """
    own = net.state_dict()
    widened = []
    merged = dict(weights)
    for name, value in weights.items():
        target = own.get(name)
        if target is not None and target.shape != value.shape and target.dim() == 4 \
                and target.shape[0] == value.shape[0] and target.shape[2:] == value.shape[2:] \
                and target.shape[1] > value.shape[1]:
            grown = torch.zeros_like(target)
            grown[:, :value.shape[1]] = value
            merged[name] = grown
            widened.append(name)
    net.load_state_dict(merged)
    return widened


def count_parameters(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


class NHWCWrapper(nn.Module):
    """The exported graph: NHWC in and out, so inference feeds `features.build` arrays as they are."""

    def __init__(self, net: FusionNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        outputs = self.net(features.permute(0, 3, 1, 2))
        return tuple(o.permute(0, 2, 3, 1) for o in outputs)
