"""Training samples: a disk cache of frame pairs with their flows, and batches built from it.

The expensive part of a sample (DIS flow both ways, through `core.flow.flow_pair`, the
same code path as inference) is computed once per frame pair and cached as an ``.npz``:

    frame0, frame1   (S, S, 3) uint8 inputs (working space, 8-bit)
    flow01, flow10   (S, S, 2) float16; conf0, conf1 (S, S) float16
    times            (K,) float32; targets (K, S, S, 3) uint8 ground truth at those times
    accel0, accel1   (S, S, 2) float16, pairs made with context frames only: the motion
                     the engine fits to them (`core.context.fit_motion`), so the features
                     follow the same curves as at inference

A training item picks one (t, target) of a pair and builds the model's features at t with
the engine's own functions (`core.intermediate`, `core.model.features.build`), then
augments: horizontal/vertical flips, transposition and temporal reversal (swap the
frames, t -> 1 - t). Every random choice of a batch derives from (seed, step), so the
data a step sees never depends on how the run was interrupted and resumed.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from segue.core.context import fit_motion
from segue.core.errors import InputError
from segue.core.flow import FlowPair, flow_pair
from segue.core.intermediate import linear, reversed_, splat_metrics
from segue.core.model import features
from segue.core.motion import Motion

#: channel permutation of the features for temporal reversal (frame 0 <-> frame 1, t -> 1 - t)
_REVERSE = np.r_[3:6, 0:3, 9:12, 6:9, 15:18, 12:15, 19, 18, 20, 23:25, 21:23, 27:29, 25:27]
#: the flow planes' x and y components
_FLOW_X = np.array([sl.start for sl in features.FLOW_SLICES])
_FLOW_Y = _FLOW_X + 1
#: channel permutation for transposition: every flow's (dx, dy) becomes (dy, dx)
_TRANSPOSE = np.arange(features.FEATURE_CHANNELS)
_TRANSPOSE[_FLOW_X], _TRANSPOSE[_FLOW_Y] = _FLOW_Y, _FLOW_X


def source_key(source: dict, crop: int, seed: int) -> str:
    """Cache folder name of a data source: its kind and a hash of everything that shapes it."""
    spec = {k: v for k, v in source.items() if k != "count"}
    if source["kind"] == "synthetic":
        from segue.training.synthetic import GENERATOR_VERSION

        spec["generator_version"] = GENERATOR_VERSION
    elif source["kind"] == "footage":
        from segue.training.footage import expand_clips

        # A folder of clips is keyed by the clips it holds: adding one makes a new cache.
        paths = list(source.get("paths", []))
        clips = expand_clips(paths)
        if clips != paths:
            spec["clips"] = clips
    digest = hashlib.sha256(json.dumps([spec, crop, seed], sort_keys=True).encode()).hexdigest()[:12]
    return f"{source['kind']}-{digest}"


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)  # atomic: an interrupted build never leaves a half file


def _pair_arrays(f0: np.ndarray, f1: np.ndarray, times: np.ndarray, targets: np.ndarray,
                 context: list[tuple[float, np.ndarray]] = ()) -> dict:
    img0, img1 = f0.astype(np.float32) / 255, f1.astype(np.float32) / 255
    flows = flow_pair(img0, img1)
    arrays = {"frame0": f0, "frame1": f1, "times": times.astype(np.float32), "targets": targets,
              "flow01": flows.flow01.astype(np.float16), "flow10": flows.flow10.astype(np.float16),
              "conf0": flows.conf0.astype(np.float16), "conf1": flows.conf1.astype(np.float16)}
    moving = fit_motion(img0, img1, img0, img1, flows, [(t, im.astype(np.float32) / 255) for t, im in context], 0)
    if moving is not None:
        for name, accel in (("accel0", moving.accel0), ("accel1", moving.accel1)):
            arrays[name] = accel.astype(np.float16)
    return arrays


def _pairs(source: dict, crop: int, seed: int, start: int) -> Iterator[tuple]:
    """(frame0, frame1, times, targets) of a source, from index ``start`` on."""
    kind = source["kind"]
    if kind == "synthetic":
        from segue.training.photos import PhotoLibrary
        from segue.training.synthetic import generate_pair

        photos = PhotoLibrary(list(source.get("photos", ["skimage"])), int(source.get("photo_max_side", 1024)))
        for i in range(start, int(source["count"])):
            p = generate_pair(np.random.default_rng([seed, i]), photos, crop,
                              float(source.get("max_motion", 40.0)), int(source.get("times_per_pair", 3)),
                              float(source.get("static_camera", 0.0)), bool(source.get("context", False)))
            yield p.frame0, p.frame1, p.times, p.targets, p.context
    elif kind == "footage":
        from segue.training.footage import footage_pairs

        stream = footage_pairs(list(source["paths"]), crop, seed)
        for i, pair in enumerate(stream):  # a stream is deterministic: skip what exists
            if i >= int(source["count"]):
                return
            if i >= start:
                yield pair
    else:
        raise InputError(f"data source kind {kind!r}: use synthetic or footage")


def build_cache(sources: list[dict], cache_dir: Path, crop: int, seed: int, log=print) -> list[Path]:
    """Make sure every source's pairs are cached; returns all cached pair files, sorted.

    Building resumes where an interrupted one stopped (pairs are written atomically and
    numbered; generation is deterministic per index).
    """
    files: list[Path] = []
    for source in sources:
        # A source may have its own seed, so that two sources of one kind draw different scenes.
        source_seed = int(source.get("seed", seed))
        folder = cache_dir / source_key(source, crop, source_seed)
        folder.mkdir(parents=True, exist_ok=True)
        count = int(source["count"])
        have = 0
        while have < count and (folder / f"{have:06d}.npz").is_file():
            have += 1
        if have < count:
            log(f"data: building {count - have} {source['kind']} pairs in {folder}")
            start = time.perf_counter()
            for i, pair in enumerate(_pairs(source, crop, source_seed, have), start=have):
                _save_npz(folder / f"{i:06d}.npz", **_pair_arrays(*pair))
                if (i + 1) % 100 == 0 or i + 1 == count:
                    rate = (i + 1 - have) / (time.perf_counter() - start)
                    log(f"data: {i + 1}/{count} pairs ({rate:.1f}/s)")
        files.extend(folder / f"{i:06d}.npz" for i in range(count))
    return files


def load_pair(path: Path) -> dict:
    """A cached pair's arrays (see the module docstring)."""
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def pair_features(pair: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (S, S, 29) and target (S, S, 3) float32 of a cached pair at its k-th time."""
    img0 = pair["frame0"].astype(np.float32) / 255
    img1 = pair["frame1"].astype(np.float32) / 255
    flows = FlowPair(*(np.ascontiguousarray(pair[n], dtype=np.float32) for n in ("flow01", "flow10", "conf0", "conf1")))
    moving = None
    if "accel0" in pair:
        moving = Motion(flows, *(np.ascontiguousarray(pair[n], dtype=np.float32) for n in ("accel0", "accel1")))
    t = float(pair["times"][k])
    metrics = splat_metrics(img0, img1, flows)
    feats = features.build(img0, img1, flows, linear(flows, t, moving), reversed_(flows, t, metrics, moving), t)
    return feats, pair["targets"][k].astype(np.float32) / 255


def augment(feats: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random flips, transposition and temporal reversal of one item (features stay valid:
    flow planes change sign or swap components with the image)."""
    feats = feats.copy()
    if rng.random() < 0.5:
        feats, target = feats[:, ::-1], target[:, ::-1]
        feats[..., _FLOW_X] *= -1.0
    if rng.random() < 0.5:
        feats, target = feats[::-1], target[::-1]
        feats[..., _FLOW_Y] *= -1.0
    if rng.random() < 0.5:
        feats, target = feats.transpose(1, 0, 2)[..., _TRANSPOSE], target.transpose(1, 0, 2)
    if rng.random() < 0.5:
        feats = feats[..., _REVERSE]
        feats[..., features.T_CHANNEL] = 1.0 - feats[..., features.T_CHANNEL]
    return np.ascontiguousarray(feats), np.ascontiguousarray(target)


class Batches:
    """Batch ``step`` of a run: a fixed function of (files, seed, step).

    Epoch e visits the files in the order of a permutation drawn from (seed, e); the item's
    time, crop and augmentation come from (seed, step, slot).
    """

    def __init__(self, files: list[Path], batch: int, crop: int, seed: int) -> None:
        if not files:
            raise InputError("no training pairs: the data sources are empty")
        self.files, self.batch, self.crop, self.seed = files, batch, crop, seed
        self._perm_epoch, self._perm = -1, np.arange(0)

    def _file(self, index: int) -> Path:
        epoch, pos = divmod(index, len(self.files))
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, 1, epoch]).permutation(len(self.files))
            self._perm_epoch = epoch
        return self.files[int(self._perm[pos])]

    def get(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(features (B, 29, c, c), targets (B, 3, c, c))`` float32 NCHW for a step."""
        xs, ys = [], []
        for slot in range(self.batch):
            rng = np.random.default_rng([self.seed, 2, step, slot])
            pair = load_pair(self._file(step * self.batch + slot))
            feats, target = pair_features(pair, int(rng.integers(len(pair["times"]))))
            size = feats.shape[0]
            if size > self.crop:
                y, x = (int(v) for v in rng.integers(0, size - self.crop + 1, 2))
                feats = feats[y:y + self.crop, x:x + self.crop]
                target = target[y:y + self.crop, x:x + self.crop]
            feats, target = augment(feats, target, rng)
            xs.append(feats.transpose(2, 0, 1))
            ys.append(target.transpose(2, 0, 1))
        return np.ascontiguousarray(np.stack(xs)), np.ascontiguousarray(np.stack(ys))
