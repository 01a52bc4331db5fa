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
from typing import TYPE_CHECKING

import numpy as np
import torch

from segue.core.errors import InputError
from segue.core.model.infer import load_manifest
from segue.training import losses
from segue.training.config import load_config
from segue.training.data import Batches, build_cache
from segue.training.net import FusionNet, count_parameters, fuse, load_widened

if TYPE_CHECKING:
    from segue.training.validate import Validator

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
    described = FusionNet(tuple(state["widths"]), int(state["cost_radius"]), int(state["fine_cost_radius"]))
    cin = described.enc0[0].in_channels
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


def _resume_path(out_dir: Path, resume: str | bool | None) -> Path | None:
    """The checkpoint ``resume`` names (None: a new run, refused over an earlier run's checkpoints)."""
    existing = checkpoints(out_dir)
    if resume is True:
        if not existing:
            raise InputError(f"--resume: no checkpoint in {out_dir / 'checkpoints'}")
        return existing[-1]
    if resume:
        return Path(resume)
    if existing:
        raise InputError(f"{out_dir} already holds checkpoints: pass --resume to continue that run, "
                         "or set run.out_dir to a new folder")
    return None


def _restore(path: Path, net: FusionNet, opt, sched, files: list[Path], log) -> int:
    """Load a checkpoint of this run into the net, optimiser, scheduler and RNGs; returns its step."""
    state = load_checkpoint(path)
    _check_architecture(state, net, str(path))
    names = [f"{p.parent.name}/{p.name}" for p in files]
    if state["data_files"] != names:
        raise InputError(f"{path}: the run's data sources changed since this checkpoint; "
                         "resume with the config it was started with")
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    _set_rng_state(state["rng"])
    step = int(state["step"])
    log(f"resumed from {path} at step {step}")
    return step


def _validator(cfg: dict, log) -> Validator | None:
    """The config's validation set as a `training.validate.Validator`, or None (logged either way)."""
    val_data = cfg["validation"]["data"]
    if val_data and Path(val_data).is_dir():
        from segue.training.validate import Validator

        validator = Validator(Path(val_data), int(cfg["validation"]["cases_per_set"]))
        log(f"validation: {validator.frames} frames of {val_data}; classic "
            + ", ".join(f"{k} {v:.2f}" for k, v in validator.classic.items()))
        return validator
    log(f"validation: skipped ({val_data + ' not found' if val_data else 'no validation.data in the config'})")
    return None


class _Run:
    """A run in progress: the net and its optimiser at ``step``, and its TensorBoard, metrics and checkpoints."""

    def __init__(self, cfg: dict, out_dir: Path, files: list[Path], net: FusionNet, opt, sched, step: int,
                 validator: Validator | None, log) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.cfg, self.tr, self.out_dir, self.files = cfg, cfg["train"], out_dir, files
        self.net, self.opt, self.sched, self.step = net, opt, sched, step
        self.validator, self.log = validator, log
        self.writer = SummaryWriter(str(out_dir / "tb"), purge_step=step)
        self.metrics_file = (out_dir / "metrics.jsonl").open("a")

    def record(self, kind: str, values: dict) -> None:
        """One line of ``metrics.jsonl``."""
        self.metrics_file.write(json.dumps({"kind": kind, "step": self.step, "time": time.time(), **values}) + "\n")
        self.metrics_file.flush()

    def checkpoint(self) -> Path:
        """Save the current step, keeping only the newest ``train.keep_checkpoints``."""
        path = self.out_dir / "checkpoints" / f"step_{self.step:07d}.pt"
        save_checkpoint(path, self.net, self.opt, self.sched, self.step, self.cfg, self.files)
        for old in checkpoints(self.out_dir)[:-int(self.tr["keep_checkpoints"])]:
            old.unlink()
        return path

    def validate(self) -> dict | None:
        """Score the net on the validation set (None without one), and log and record the scores."""
        if self.validator is None:
            return None
        res = self.validator.evaluate(self.net)
        for name, r in res.items():
            for key in ("psnr", "delta"):
                self.writer.add_scalar(f"val_{key}/{name}", r[key], self.step)
        self.record("validation", res)
        self.log(f"step {self.step} validation: "
                 + ", ".join(f"{k} {r['psnr']:.2f} ({r['delta']:+.2f})" for k, r in res.items()))
        return res

    def optimise(self, x_np: np.ndarray, y_np: np.ndarray) -> tuple[float, dict]:
        """One optimiser step on a batch; returns its loss and the loss's parts."""
        tr, net = self.tr, self.net
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
        logits, residual, deltas = net(x)
        loss, parts = losses.total(fuse(x, logits, residual, deltas), y, tr["loss"])
        if tr["delta_l1"]:
            # Corrections must pay for themselves: a sub-pixel shift of sharp, static
            # detail is a blur (measured on ../shared/data's near-static sets).
            penalty = deltas.abs().mean()
            parts["delta_l1"] = float(penalty.detach())
            loss = loss + tr["delta_l1"] * penalty
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if tr["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(net.parameters(), tr["grad_clip"])
        self.opt.step()
        self.sched.step()
        self.step += 1
        return float(loss.detach()), parts

    def report(self, window: list[float], seconds: float, parts: dict) -> None:
        """Log the mean loss of the steps since the last report (``window``, taking ``seconds``)."""
        step = self.step
        per_step = seconds / len(window)
        mean = float(np.mean(window))
        lr = self.sched.get_last_lr()[0]
        self.writer.add_scalar("train/loss", mean, step)
        self.writer.add_scalar("train/lr", lr, step)
        self.writer.add_scalar("train/seconds_per_step", per_step, step)
        for k, v in parts.items():
            self.writer.add_scalar(f"train/{k}", v, step)
        self.record("train", {"loss": mean, "lr": lr, "seconds_per_step": per_step, **parts})
        self.log(f"step {step}/{self.tr['steps']} loss {mean:.5f} lr {lr:.2e} {per_step:.2f} s/step")

    def loop(self, batches: Batches) -> tuple[bool, dict | None]:
        """Train to ``train.steps`` or a stop request; returns (interrupted, the last validation in the loop)."""
        tr, every_val = self.tr, self.cfg["validation"]["every"]
        last_val = None
        interrupted = False
        self.net.train()
        with _Stop() as stop, ThreadPoolExecutor(1) as prefetch:
            pending = prefetch.submit(batches.get, self.step) if self.step < tr["steps"] else None
            window, window_start = [], time.perf_counter()
            while self.step < tr["steps"]:
                x_np, y_np = pending.result()
                pending = prefetch.submit(batches.get, self.step + 1) if self.step + 1 < tr["steps"] else None
                loss, parts = self.optimise(x_np, y_np)
                step = self.step
                window.append(loss)
                if step % tr["log_every"] == 0 or step == tr["steps"]:
                    self.report(window, time.perf_counter() - window_start, parts)
                    window, window_start = [], time.perf_counter()
                if step % tr["checkpoint_every"] == 0 and step < tr["steps"]:
                    self.log(f"checkpoint {self.checkpoint()}")
                if every_val and step % every_val == 0 and step < tr["steps"]:
                    last_val = self.validate()
                if stop.requested:
                    interrupted = True
                    if pending is not None:
                        pending.cancel()
                    break
        return interrupted, last_val

    def close(self) -> None:
        """Close the TensorBoard writer and ``metrics.jsonl``."""
        self.writer.close()
        self.metrics_file.close()


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
    resume_path = _resume_path(out_dir, resume)
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
        step = _restore(resume_path, net, opt, sched, files, log)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(json.dumps(cfg, indent=2))
    log(f"run {run['name']}: {len(files)} pairs, {count_parameters(net)} parameters, "
        f"{tr['steps']} steps of batch {tr['batch']} at {data_cfg['crop']} px, {run['threads']} thread(s); "
        f"output in {out_dir}")

    validator = _validator(cfg, log)
    state = _Run(cfg, out_dir, files, net, opt, sched, step, validator, log)
    interrupted, last_val = state.loop(batches)
    path = state.checkpoint()
    log(f"{'interrupted: ' if interrupted else ''}checkpoint {path} (step {state.step}); "
        + ("continue with --resume" if interrupted else "done"))
    if not interrupted:
        last_val = state.validate()
    state.close()
    return {"step": state.step, "checkpoint": str(path), "interrupted": interrupted, "validation": last_val,
            "parameters": count_parameters(net)}
