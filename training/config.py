"""Training configuration: TOML file over built-in defaults (see configs/*.toml for examples).

Relative paths in a config file are resolved against the folder holding that file;
``~`` is expanded. Unknown sections or keys are an error (a typo must not be silently
ignored in a run that takes hours).

A config may start from another one: ``extends = "cost.toml"`` (relative to this file)
takes that file's settings, and this file's tables override them key by key. A value
that is not a table replaces the base's value whole: a list such as ``[[data.sources]]``,
and the ``train.loss`` table (its terms are one choice, not defaults to add to).
"""
from __future__ import annotations

import copy
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from segue.core.errors import InputError

DEFAULTS: dict = {
    "run": {"name": "run", "out_dir": "~/segue-runs/run", "seed": 1, "threads": 1},
    "data": {"cache_dir": "~/.cache/segue/train", "pair_size": 256, "crop": 192, "sources": []},
    "model": {"widths": [16, 32, 48, 64], "cost_radius": 0, "fine_cost_radius": 0, "init": ""},
    "train": {
        "steps": 1000, "batch": 8, "lr": 3e-4, "lr_min": 1e-5, "warmup": 100, "schedule": "cosine",
        "weight_decay": 0.0, "grad_clip": 1.0,
        "loss": {"charbonnier": 1.0, "laplacian": 0.0, "census": 0.0}, "delta_l1": 0.0,
        "log_every": 20, "checkpoint_every": 500, "keep_checkpoints": 3,
    },
    "validation": {"data": "", "every": 1000, "cases_per_set": 0},
}
_PATH_KEYS = {("run", "out_dir"), ("data", "cache_dir"), ("validation", "data"), ("model", "init")}
_FREE_KEYS = {("train", "loss")}  # tables whose keys are validated elsewhere


def _merge(base: dict, over: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if key not in base:
            raise InputError(f"config: unknown key {where}{key} (known: {', '.join(sorted(base))})")
        if isinstance(base[key], dict) and not isinstance(value, dict):
            raise InputError(f"config: {where}{key} must be a table")
        if isinstance(base[key], dict) and (where.rstrip("."), key) not in _FREE_KEYS:
            out[key] = _merge(base[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def _resolve(path: str, folder: Path) -> str:
    if not path:
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (folder / p).resolve())


def _layers(path: Path, chain: tuple[Path, ...] = ()) -> list[dict]:
    """The settings of the configs ``path`` extends, base first, then its own; each file's
    paths resolved against its folder."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        if chain:
            raise InputError(f"{chain[-1]}: extends {path}, which does not exist") from None
        raise InputError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    for section, key in _PATH_KEYS:
        if isinstance(raw.get(section), dict) and isinstance(raw[section].get(key), str):
            raw[section][key] = _resolve(raw[section][key], path.parent)
    data = raw.get("data")
    for source in (data.get("sources") or []) if isinstance(data, dict) else []:
        if isinstance(source, dict) and isinstance(source.get("paths"), list):
            source["paths"] = [_resolve(p, path.parent) for p in source["paths"]]
    base = raw.pop("extends", None)
    if base is None:
        return [raw]
    if not isinstance(base, str) or not base:
        raise InputError(f"{path}: extends must be the path of another config file")
    base_path = Path(_resolve(base, path.parent))
    here = path.resolve()
    if base_path in (*chain, here):
        cycle = " -> ".join(str(p) for p in (*chain, here, base_path))
        raise InputError(f"{path}: configs extend each other in a circle ({cycle})")
    return [*_layers(base_path, (*chain, here)), raw]


def load_config(path: str | Path) -> dict:
    """The merged configuration of a TOML file (paths resolved; see the module docstring)."""
    path = Path(path)
    cfg = DEFAULTS
    for layer in _layers(path):  # each file over what it extends, as over the defaults
        cfg = _merge(cfg, layer, "")
    for section, key in _PATH_KEYS:  # the defaults' ``~`` (each file's own paths are resolved already)
        cfg[section][key] = _resolve(cfg[section][key], path.parent)
    for source in cfg["data"]["sources"]:
        if source.get("kind") not in ("synthetic", "footage") or "count" not in source:
            raise InputError(f"{path}: each [[data.sources]] needs kind = synthetic|footage and a count")
    if not cfg["data"]["sources"]:
        raise InputError(f"{path}: no [[data.sources]]")
    if cfg["data"]["crop"] % 8 or cfg["data"]["crop"] > cfg["data"]["pair_size"]:
        raise InputError(f"{path}: data.crop must be a multiple of 8 and at most data.pair_size")
    return cfg
