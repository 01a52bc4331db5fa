"""Running the exported fusion model with onnxruntime. Never imports torch.

    fusion = LearnedFusion(shipped_model_dir())          # or a folder / .onnx path
    logits, residual, deltas = fusion(feats)             # feats: features.build(...) output
    frame = features.fuse(logits, residual, features.refined_candidates(feats, deltas))

Inputs of any size: padded (edge replicate) to the model's stride and cropped back; sides
above `TILE_ABOVE` are processed in overlapping tiles so memory stays bounded, each tile
keeping only its interior (the overlap gives every kept pixel `TILE_MARGIN` pixels of
real context on each side).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from segue.core.errors import InputError
from segue.core.model.features import FEATURE_CHANNELS

SUPPORTED_MANIFEST_VERSION = 2
MANIFEST = "manifest.json"
#: inputs with a side above this are tiled
TILE_ABOVE = 2048
#: tile side (before margins) and the context margin kept around each tile
TILE_SIZE = 1024
TILE_MARGIN = 64


def shipped_model_dir() -> Path | None:
    """The model folder shipped in the package (`core/model/weights/`), if it holds a model."""
    folder = Path(__file__).resolve().parent / "weights"
    if (folder / MANIFEST).is_file():
        try:
            name = json.loads((folder / MANIFEST).read_text())["model"]["file"]
        except (ValueError, KeyError, TypeError):
            return None
        if (folder / name).is_file():
            return folder
    return None


def model_label(model: str) -> str:
    """A short, human name for a resolved model (``Engine.model``): ``classic``, the shipped
    model as ``segue_fusion <run> step <n> (shipped)``, or the path itself."""
    shipped = shipped_model_dir()
    if shipped is None or model == "classic" or Path(model).resolve() != shipped:
        return model
    training = json.loads((shipped / MANIFEST).read_text()).get("training") or {}
    return f"segue_fusion {training.get('run', '?')} step {training.get('steps', '?')} (shipped)"


def check_model(path: str | os.PathLike[str]) -> None:
    """Raise `InputError` naming the problem unless ``path`` is a usable model (cheap: manifest only)."""
    load_manifest(Path(path))


def load_manifest(path: Path) -> tuple[Path, dict]:
    """(onnx file, manifest) for a model folder or an .onnx file with manifest.json beside it."""
    folder, onnx_file = (path, None) if path.is_dir() else (path.parent, path)
    mpath = folder / MANIFEST
    if not path.exists():
        raise InputError(f"model not found: {path}")
    try:
        manifest = json.loads(mpath.read_text())
    except FileNotFoundError:
        raise InputError(f"{mpath}: manifest missing (a model folder holds the .onnx file and manifest.json)") from None
    except ValueError as exc:
        raise InputError(f"{mpath}: manifest is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "segue-fusion":
        raise InputError(f"{mpath}: not a Segue fusion model manifest")
    version = manifest.get("manifest_version")
    if version != SUPPORTED_MANIFEST_VERSION:
        raise InputError(f"{mpath}: manifest version {version} is not supported by this build "
                         f"(expects {SUPPORTED_MANIFEST_VERSION}); export the model again or update Segue")
    try:
        stride = int(manifest["stride"])
        layout = manifest["input"]["layout"]
        channels = len(manifest["input"]["channels"])
        model_file = manifest["model"]["file"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{mpath}: manifest lacks a required field ({exc})") from None
    if layout != "NHWC" or channels != FEATURE_CHANNELS or stride < 1:
        raise InputError(f"{mpath}: incompatible model (layout {layout}, {channels} channels, stride {stride}); "
                         f"this build feeds NHWC with {FEATURE_CHANNELS} channels")
    return (onnx_file or folder / model_file), manifest


#: the model's outputs and their channel counts, in the order they are returned
OUTPUTS = (("logits", 4), ("residual", 3), ("flow_delta", 8))


class LearnedFusion:
    """The fusion model: features ``(H, W, 29)`` -> logits ``(H, W, 4)``, residual ``(H, W, 3)``,
    flow deltas ``(H, W, 8)``.

    Args:
        model_dir_or_onnx_path: a model folder (``manifest.json`` + the .onnx it names) or
            an .onnx file with ``manifest.json`` beside it (e.g. the int8 variant).
        threads: onnxruntime intra-op threads (default: all cores).
    """

    def __init__(self, model_dir_or_onnx_path: str | os.PathLike[str], threads: int | None = None) -> None:
        import onnxruntime as ort

        onnx_path, self.manifest = load_manifest(Path(model_dir_or_onnx_path))
        self.path = onnx_path
        self.stride = int(self.manifest["stride"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # A planned block for all activations, kept between runs, raised a 1080p retime's
        # peak memory by 300 MB for no measurable speed (docs/model_card.md, Speed and memory).
        options.enable_mem_pattern = False
        options.log_severity_level = 3  # errors only: the quantiser leaves harmless unused-initializer notes
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for bad files
            if not onnx_path.is_file():
                raise InputError(f"model file not found: {onnx_path}") from None
            raise InputError(f"{onnx_path}: not a loadable ONNX model ({type(exc).__name__}: {exc})") from None
        self._input = self.session.get_inputs()[0].name
        self._outputs = [name for name, _ in OUTPUTS]

    def _run(self, feats: np.ndarray) -> list[np.ndarray]:
        h, w = feats.shape[:2]
        ph, pw = -h % self.stride, -w % self.stride
        if ph or pw:
            feats = np.pad(feats, ((0, ph), (0, pw), (0, 0)), mode="edge")
        outputs = self.session.run(self._outputs, {self._input: np.ascontiguousarray(feats[None])})
        return [o[0, :h, :w] for o in outputs]

    def __call__(self, features: np.ndarray, tile_above: int = TILE_ABOVE, tile_size: int = TILE_SIZE,
                 margin: int = TILE_MARGIN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fusion logits (H, W, 4), residual (H, W, 3) and flow deltas (H, W, 8) float32 for
        features (H, W, 29) float32."""
        if not isinstance(features, np.ndarray) or features.ndim != 3 or features.shape[2] != FEATURE_CHANNELS:
            got = f"{features.dtype} {features.shape}" if isinstance(features, np.ndarray) else type(features).__name__
            raise InputError(f"features must be an (H, W, {FEATURE_CHANNELS}) float32 array, got {got}")
        features = features.astype(np.float32, copy=False)
        h, w = features.shape[:2]
        if max(h, w) <= tile_above:
            return tuple(self._run(features))
        outputs = tuple(np.empty((h, w, c), np.float32) for _, c in OUTPUTS)
        for y in range(0, h, tile_size):
            for x in range(0, w, tile_size):
                y0, x0 = max(0, y - margin), max(0, x - margin)
                y1, x1 = min(h, y + tile_size + margin), min(w, x + tile_size + margin)
                ys, xs = slice(y - y0, y - y0 + min(tile_size, h - y)), slice(x - x0, x - x0 + min(tile_size, w - x))
                for out, tile in zip(outputs, self._run(features[y0:y1, x0:x1])):
                    out[y:y + tile_size, x:x + tile_size] = tile[ys, xs]
        return outputs
