"""`segue train`: the training loop, checkpoints, exact resume, logs and validation.

A run lives in its ``run.out_dir``: ``checkpoints/step_NNNNNNN.pt`` (every
``train.checkpoint_every`` steps, at the end, and on Ctrl-C / SIGTERM), ``tb/`` (TensorBoard
event files), ``metrics.jsonl`` (one JSON object per log line or validation) and
``config.json`` (the merged config). ``--resume`` continues from the newest checkpoint
(or a given one) bit-exactly: the checkpoint holds the model, optimiser, scheduler, step
and the RNG states of python, numpy and torch, and every batch is a pure function of
(seed, step) (`training.data.Batches`), so the data order is restored by the step alone.
Bit-exactness assumes the same thread count and machine, as with any float arithmetic.
"""
from __future__ import annotations

import json
import math
import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from core.errors import InputError
from core.model.infer import load_manifest
from training import losses
from training.config import load_config
from training.data import Batches, build_cache
from training.net import FusionNet, count_parameters, fuse, load_widened

CHECKPOINT_FORMAT = 2  # 2: the net with flow corrections (29 feature planes)


def _lr_factor(cfg: dict):
    tr = cfg["train"]
    steps, warmup, floor = tr["steps"], tr["warmup"], tr["lr_min"] / tr["lr"]

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if tr["schedule"] == "constant":
            return 1.0
        if tr["schedule"] == "step":  # x0.3 at 60% and again at 85% of the run
            return 1.0 * (0.3 if step >= 0.6 * steps else 1.0) * (0.3 if step >= 0.85 * steps else 1.0)
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def checkpoints(out_dir: Path) -> list[Path]:
    """A run's checkpoints, oldest first."""
    return sorted((out_dir / "checkpoints").glob("step_*.pt"))


def _rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def _set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def save_checkpoint(path: Path, net, opt, sched, step: int, cfg: dict, data_files: list[Path]) -> None:
    """Everything needed to continue the run exactly, written atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": CHECKPOINT_FORMAT, "step": step, "model": net.state_dict(), "widths": list(net.widths),
             "cost_radius": net.cost_radius, "fine_cost_radius": net.fine_cost_radius,
             "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": _rng_state(),
             "config": cfg, "data_files": [f"{p.parent.name}/{p.name}" for p in data_files]}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's contents (InputError naming the file if it is not one of ours)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise InputError(f"checkpoint not found: {path}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise InputError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: not a Segue training checkpoint (format {CHECKPOINT_FORMAT})")
    return state


class _Stop:
    """Turns Ctrl-C / SIGTERM into a flag the loop checks between steps (a step is never torn)."""

    def __init__(self) -> None:
        self.requested = False
        self._old = {}

    def __enter__(self) -> _Stop:  # noqa: PYI034 - typing.Self needs Python 3.11
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:  # a second Ctrl-C: give up at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _check_architecture(state: dict, net: FusionNet, where: str, may_add_cost_volume: bool = False) -> None:
    """InputError unless the checkpoint's net has the config's widths and cost radii.

    ``may_add_cost_volume``: a checkpoint without a cost volume the config has is accepted
    too (`load_widened`).
    """
    if list(state["widths"]) != list(net.widths):
        raise InputError(f"{where}: model widths {state['widths']} differ from the config's {list(net.widths)}")
    for key in ("cost_radius", "fine_cost_radius"):
        radius, wanted = int(state.get(key, 0)), getattr(net, key)
        if radius != wanted and not (may_add_cost_volume and radius == 0):
            raise InputError(f"{where}: the checkpoint's {key} {radius} differs from the config's {wanted}")


def load_exported(path: Path) -> dict:
    """An exported model (folder or .onnx with its manifest, e.g. the shipped
    ``core/model/weights``) as the checkpoint fields `_init_weights` needs.

    The ONNX file keeps every parameter of the net under its own name (``net.<name>``), so
    a fine-tune can start from a model that was shipped without its training checkpoint.
    """
    import onnx
    from onnx import numpy_helper

    onnx_path, manifest = load_manifest(path)
    try:
        graph = onnx.load(str(onnx_path)).graph
    except Exception as exc:  # noqa: BLE001 - onnx raises its own types for bad files
        raise InputError(f"{onnx_path}: not a readable ONNX model ({type(exc).__name__}: {exc})") from None
    weights = {init.name.removeprefix("net."): torch.from_numpy(numpy_helper.to_array(init).copy())
               for init in graph.initializer if init.name.startswith("net.")}
    model = manifest["model"]
    state = {"model": weights, "widths": model["widths"], "cost_radius": model.get("cost_radius", 0),
             "fine_cost_radius": model.get("fine_cost_radius", 0),
             "step": (manifest.get("training") or {}).get("steps", "?")}
    # The export pads the first convolution's inputs with zero channels (`training.export`):
    # drop them again, so the weights fit the net the manifest describes.
    cin = FusionNet(tuple(state["widths"]), int(state["cost_radius"]), int(state["fine_cost_radius"])).enc0[0].in_channels
    first = weights.get("enc0.0.weight")
    if first is not None and first.shape[1] > cin and not first[:, cin:].any():
        weights["enc0.0.weight"] = first[:, :cin].contiguous()
    return state


def _init_weights(net: FusionNet, path: Path, log) -> None:
    """Start a new run from another run's weights (fine-tuning); optimiser and step start afresh.

    ``path`` is a checkpoint or an exported model (`load_exported`). A run may add a cost
    volume to a net trained without it: its new input weights start at zero, so the first
    step computes what the old net did.
    """
    exported = path.is_dir() or path.suffix.lower() == ".onnx"
    state = load_exported(path) if exported else load_checkpoint(path)
    _check_architecture(state, net, f"model.init {path}", may_add_cost_volume=True)
    widened = load_widened(net, state["model"])
    log(f"weights initialised from {path} (its step {state['step']})"
        + (f"; new zero input weights in {', '.join(widened)}" if widened else ""))


def train(config_path: str | Path, resume: str | bool | None = None, log=print) -> dict:
    """Run (or continue) the training run a config describes; returns a summary.

    Args:
        config_path: TOML file (`training.config`).
        resume: None/False for a new run (refused if the run folder has checkpoints), True
            for the newest checkpoint of the run, or a checkpoint path.
        log: where progress lines go.
    """
    cfg = load_config(config_path)
    run, tr, data_cfg = cfg["run"], cfg["train"], cfg["data"]
    out_dir = Path(run["out_dir"])
    existing = checkpoints(out_dir)
    if resume is True:
        if not existing:
            raise InputError(f"--resume: no checkpoint in {out_dir / 'checkpoints'}")
        resume_path = existing[-1]
    elif resume:
        resume_path = Path(resume)
    else:
        if existing:
            raise InputError(f"{out_dir} already holds checkpoints: pass --resume to continue that run, "
                             "or set run.out_dir to a new folder")
        resume_path = None
    losses.total(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8), tr["loss"])  # reject unknown terms early

    torch.set_num_threads(int(run["threads"]))
    torch.use_deterministic_algorithms(True, warn_only=True)
    seed = int(run["seed"])
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    files = build_cache(data_cfg["sources"], Path(data_cfg["cache_dir"]), int(data_cfg["pair_size"]), seed, log)
    batches = Batches(files, int(tr["batch"]), int(data_cfg["crop"]), seed)
    net = FusionNet(tuple(cfg["model"]["widths"]), int(cfg["model"]["cost_radius"]),
                    int(cfg["model"]["fine_cost_radius"]))
    opt = torch.optim.Adam(net.parameters(), lr=tr["lr"], weight_decay=tr["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_factor(cfg))
    step = 0
    if resume_path is None and cfg["model"]["init"]:
        _init_weights(net, Path(cfg["model"]["init"]), log)
    if resume_path is not None:
        state = load_checkpoint(resume_path)
        _check_architecture(state, net, str(resume_path))
        names = [f"{p.parent.name}/{p.name}" for p in files]
        if state["data_files"] != names:
            raise InputError(f"{resume_path}: the run's data sources changed since this checkpoint; "
                             "resume with the config it was started with")
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"])
        step = int(state["step"])
        log(f"resumed from {resume_path} at step {step}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=2))
    log(f"run {run['name']}: {len(files)} pairs, {count_parameters(net)} parameters, "
        f"{tr['steps']} steps of batch {tr['batch']} at {data_cfg['crop']} px, {run['threads']} thread(s); "
        f"output in {out_dir}")

    validator = None
    val_data = cfg["validation"]["data"]
    if val_data and Path(val_data).is_dir():
        from training.validate import Validator

        validator = Validator(Path(val_data), int(cfg["validation"]["cases_per_set"]))
        log(f"validation: {validator.frames} frames of {val_data}; classic "
            + ", ".join(f"{k} {v:.2f}" for k, v in validator.classic.items()))
    else:
        log(f"validation: skipped ({val_data + ' not found' if val_data else 'no validation.data in the config'})")

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out_dir / "tb"), purge_step=step)
    metrics_file = (out_dir / "metrics.jsonl").open("a")

    def record(kind: str, values: dict) -> None:
        metrics_file.write(json.dumps({"kind": kind, "step": step, "time": time.time(), **values}) + "\n")
        metrics_file.flush()

    def checkpoint() -> Path:
        path = out_dir / "checkpoints" / f"step_{step:07d}.pt"
        save_checkpoint(path, net, opt, sched, step, cfg, files)
        for old in checkpoints(out_dir)[:-int(tr["keep_checkpoints"])]:
            old.unlink()
        return path

    def validate() -> dict | None:
        if validator is None:
            return None
        res = validator.evaluate(net)
        for name, r in res.items():
            for key in ("psnr", "delta"):
                writer.add_scalar(f"val_{key}/{name}", r[key], step)
        record("validation", res)
        log(f"step {step} validation: " + ", ".join(f"{k} {r['psnr']:.2f} ({r['delta']:+.2f})" for k, r in res.items()))
        return res

    last_val = None
    interrupted = False
    net.train()
    with _Stop() as stop, ThreadPoolExecutor(1) as prefetch:
        pending = prefetch.submit(batches.get, step) if step < tr["steps"] else None
        window, window_start = [], time.perf_counter()
        while step < tr["steps"]:
            x_np, y_np = pending.result()
            pending = prefetch.submit(batches.get, step + 1) if step + 1 < tr["steps"] else None
            x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
            logits, residual, deltas = net(x)
            loss, parts = losses.total(fuse(x, logits, residual, deltas), y, tr["loss"])
            if tr["delta_l1"]:
                # Corrections must pay for themselves: a sub-pixel shift of sharp, static
                # detail is a blur (measured on ../shared/data's near-static sets).
                penalty = deltas.abs().mean()
                parts["delta_l1"] = float(penalty.detach())
                loss = loss + tr["delta_l1"] * penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tr["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(net.parameters(), tr["grad_clip"])
            opt.step()
            sched.step()
            step += 1
            window.append(float(loss.detach()))
            if step % tr["log_every"] == 0 or step == tr["steps"]:
                per_step = (time.perf_counter() - window_start) / len(window)
                mean = float(np.mean(window))
                lr = sched.get_last_lr()[0]
                writer.add_scalar("train/loss", mean, step)
                writer.add_scalar("train/lr", lr, step)
                writer.add_scalar("train/seconds_per_step", per_step, step)
                for k, v in parts.items():
                    writer.add_scalar(f"train/{k}", v, step)
                record("train", {"loss": mean, "lr": lr, "seconds_per_step": per_step, **parts})
                log(f"step {step}/{tr['steps']} loss {mean:.5f} lr {lr:.2e} {per_step:.2f} s/step")
                window, window_start = [], time.perf_counter()
            if step % tr["checkpoint_every"] == 0 and step < tr["steps"]:
                log(f"checkpoint {checkpoint()}")
            if cfg["validation"]["every"] and step % cfg["validation"]["every"] == 0 and step < tr["steps"]:
                last_val = validate()
            if stop.requested:
                interrupted = True
                if pending is not None:
                    pending.cancel()
                break
    path = checkpoint()
    log(f"{'interrupted: ' if interrupted else ''}checkpoint {path} (step {step}); "
        + ("continue with --resume" if interrupted else "done"))
    if not interrupted:
        last_val = validate()
    writer.close()
    metrics_file.close()
    return {"step": step, "checkpoint": str(path), "interrupted": interrupted, "validation": last_val,
            "parameters": count_parameters(net)}
