"""`segue export`: a training checkpoint -> ONNX model + manifest.json (+ an int8 variant).

The graph takes NHWC features ``(1, H, W, 29)`` float32 with H and W multiples of the
stride (dynamic), and returns NHWC ``logits (1, H, W, 4)`` (log-prior included),
``residual (1, H, W, 3)`` and ``flow_delta (1, H, W, 8)``; `core.model.infer` pads, tiles
and feeds it. The manifest says so in words a reader (or another runtime) can check;
`MANIFEST_VERSION` changes only when the meaning of the files changes incompatibly.

int8: static QDQ quantisation (onnxruntime.quantization, per-channel weights, uint8
activations) calibrated on a few synthetic samples made by the training generator.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from segue.core.errors import InputError
from segue.core.model import features, infer

MANIFEST_VERSION = 2  # 2: flow planes in, flow corrections out
MODEL_FILE = "segue_fusion.onnx"
INT8_FILE = "segue_fusion_int8.onnx"
OPSET = 17
#: the graph's outputs, in order (their channel counts live beside the runtime that reads them)
OUTPUTS = tuple(name for name, _ in infer.OUTPUTS)
CHANNEL_NAMES = ["frame0_r", "frame0_g", "frame0_b", "frame1_r", "frame1_g", "frame1_b",
                 *(f"{c}_{ch}" for c in features.CANDIDATES for ch in "rgb"),
                 "confidence0_at_t", "confidence1_at_t", "t",
                 *(f"flow_{c}_{ax}" for c in features.CANDIDATES for ax in "xy")]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _first_conv_padded(net, multiple: int = 8):
    """A copy of ``net`` computing the same outputs with its first convolution's input
    channels padded with zero planes to a multiple of ``multiple``.

    onnxruntime runs a convolution in its blocked (NCHWc) layout only when the input
    channels are a multiple of 8; the first one (41 planes, at full resolution, the
    largest single node) ran at half the speed per operation of the others. Padded, the
    `cost` model took 16% less time at 960x540 and 1920x1080 (bench/bench_model.py).
    The extra planes come from zero rows of the fixed difference convolution, so they
    are exactly 0 and meet zero weights.
    """
    import copy

    import torch

    from segue.training.net import load_widened

    net = copy.deepcopy(net)
    conv = net.enc0[0]
    extra = -conv.in_channels % multiple
    if extra:
        net.diff_weight = torch.cat([net.diff_weight, net.diff_weight.new_zeros(extra, *net.diff_weight.shape[1:])])
        padded = torch.nn.Conv2d(conv.in_channels + extra, conv.out_channels, conv.kernel_size, conv.stride,
                                 conv.padding)
        load_widened(padded, conv.state_dict())  # the extra input channels get zero weights
        net.enc0[0] = padded
    return net


def export_onnx(net, path: Path) -> None:
    """Write a `FusionNet` as ONNX with dynamic height and width (NHWC in and out)."""
    import torch

    from segue.training.net import NHWCWrapper

    wrapper = NHWCWrapper(_first_conv_padded(net)).eval()
    example = torch.rand(1, 4 * net.stride, 6 * net.stride, features.FEATURE_CHANNELS)
    dims = {1: "height", 2: "width"}
    tmp = path.with_name(path.name + ".tmp")
    # The TorchScript exporter (dynamo=False): a plain static graph of Conv/LeakyRelu/Resize
    # that every onnxruntime since 1.14 runs, without the dynamo exporter's extra dependencies.
    torch.onnx.export(wrapper, (example,), str(tmp), input_names=["features"], output_names=list(OUTPUTS),
                      dynamic_axes={"features": dims, **{name: dims for name in OUTPUTS}},
                      opset_version=OPSET, dynamo=False)
    tmp.replace(path)


def calibration_features(count: int = 8, size: int = 128, seed: int = 12345) -> list[np.ndarray]:
    """A few synthetic feature tensors (1, size, size, 29) for int8 calibration."""
    from segue.core.flow import flow_pair
    from segue.core.intermediate import linear, reversed_, splat_metrics
    from segue.training.photos import PhotoLibrary
    from segue.training.synthetic import generate_pair

    photos = PhotoLibrary(["skimage"])
    out = []
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        pair = generate_pair(rng, photos, size, 20.0, 1)
        img0, img1 = pair.frame0.astype(np.float32) / 255, pair.frame1.astype(np.float32) / 255
        flows = flow_pair(img0, img1)
        t = float(pair.times[0])
        feats = features.build(img0, img1, flows, linear(flows, t),
                               reversed_(flows, t, splat_metrics(img0, img1, flows)), t)
        out.append(feats[None])
    return out


def quantize_int8(src: Path, dst: Path, samples: list[np.ndarray]) -> None:
    """Static QDQ int8 quantisation of an exported model, calibrated on ``samples``."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(samples)

        def get_next(self):
            x = next(self._it, None)
            return None if x is None else {"features": x}

    tmp = dst.with_name(dst.name + ".tmp")
    # quantize_static logs advice to run its shape pre-processing; measured here, the
    # pre-processed int8 model ran 30% slower (272 vs 208 ms at 960x540, same process), so it
    # is not used.
    logging.disable(logging.WARNING)
    try:
        quantize_static(str(src), str(tmp), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    finally:
        logging.disable(logging.NOTSET)
    tmp.replace(dst)


def export(checkpoint: Path, out_dir: Path, int8: bool = True, log=print) -> dict:
    """Export a checkpoint to ``out_dir`` (ONNX, optional int8 ONNX, manifest.json); returns the manifest."""
    from segue.core.color import WORKING_SPACE
    from segue.training.net import count_parameters, net_from_state
    from segue.training.train import load_checkpoint

    state = load_checkpoint(checkpoint)
    net = net_from_state(state)
    net.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / MODEL_FILE
    export_onnx(net, model_path)
    log(f"exported {model_path} ({model_path.stat().st_size / 1e6:.2f} MB)")
    int8_entry = None
    if int8:
        int8_path = out_dir / INT8_FILE
        quantize_int8(model_path, int8_path, calibration_features())
        int8_entry = {"file": INT8_FILE, "sha256": _sha256(int8_path),
                      "quantization": "static QDQ, per-channel int8 weights, uint8 activations, "
                                      "calibrated on 8 synthetic 128x128 samples"}
        log(f"exported {int8_path} ({int8_path.stat().st_size / 1e6:.2f} MB)")
    if not isinstance(state.get("config"), dict):
        raise InputError(f"{checkpoint}: checkpoint has no config")
    manifest = {
        "format": "segue-fusion",
        "manifest_version": MANIFEST_VERSION,
        "model": {"file": MODEL_FILE, "sha256": _sha256(model_path), "opset": OPSET,
                  "widths": list(net.widths), "cost_radius": net.cost_radius,
                  "fine_cost_radius": net.fine_cost_radius,
                  "parameters": count_parameters(net)},
        "int8": int8_entry,
        "input": {
            "name": "features", "layout": "NHWC", "shape": [1, "height", "width", features.FEATURE_CHANNELS],
            "dtype": "float32", "channels": CHANNEL_NAMES,
            "value_range": "frames and candidates in [0, 1] (8-bit-like working-space values; may exceed "
                           "slightly for float sources), confidences in [0, 1], t in (0, 1), flows in "
                           "pixels at the features' size",
            "colourspace": WORKING_SPACE,
            "built_by": "core.model.features.build at the analysis size of core.flow",
        },
        "stride": net.stride,
        "padding": "replicate (edge) to a multiple of stride on the bottom and right, cropped after",
        "outputs": {
            "logits": {"layout": "NHWC", "channels": list(features.CANDIDATES),
                       "meaning": "fusion logits over the candidates, log prior(t) already added"},
            "residual": {"layout": "NHWC", "channels": ["r", "g", "b"], "meaning": "added after fusion"},
            "flow_delta": {"layout": "NHWC", "channels": [f"{c}_{ax}" for c in features.CANDIDATES for ax in "xy"],
                           "meaning": "pixels added to each candidate's flow before it is re-warped"},
            "frame": "core.model.features.fuse(logits, residual, refined_candidates(features, flow_delta))",
        },
        "training": {"steps": int(state["step"]), "run": state["config"]["run"]["name"],
                     "checkpoint": checkpoint.name, "checkpoint_sha256": _sha256(checkpoint)},
    }
    tmp = out_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    tmp.replace(out_dir / "manifest.json")
    return manifest
