"""Does a checkpoint beat classic on *unseen pairs of its own training distribution*?

    python -m segue.training.heldout CHECKPOINT --config configs/flow.toml [--count 60] [--seed 99]

The config's sources are cached again under another seed (new synthetic scenes, other
footage windows), and the model and the classical fusion (the untrained model's output)
are scored per source kind: mean per-frame PSNR, mean L1 and mean MSE. Telling the two
failure modes apart is its purpose: a model that beats classic here but not on
`../shared/data` has a domain gap; one that does not beat classic here is not learning
what the benchmark measures (loss, capacity or optimisation).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from segue.core.engine import to_uint8
from segue.core.errors import InputError
from segue.core.metrics import psnr
from segue.core.model.features import T_CHANNEL
from segue.training.config import load_config
from segue.training.data import build_cache, load_pair, pair_features
from segue.training.net import fuse, log_prior, net_from_state
from segue.training.train import load_checkpoint


def evaluate(checkpoint: Path, config: Path, count: int = 60, seed: int = 99, log=print) -> dict[str, dict[str, float]]:
    """Per source kind: ``{"frames", "psnr", "classic_psnr", "delta", "l1", "classic_l1", "mse", "classic_mse"}``."""
    cfg = load_config(config)
    trained = {int(cfg["run"]["seed"])} | {int(s["seed"]) for s in cfg["data"]["sources"] if "seed" in s}
    if seed in trained:
        raise InputError(f"--seed {seed}: the held-out seed must differ from the run's and its sources' seeds "
                         f"{sorted(trained)} (those pairs were trained on)")
    state = load_checkpoint(checkpoint)  # before the cache is built: a wrong path fails at once
    # Every source draws from the held-out seed, including those with a seed of their own.
    sources = [{**{k: v for k, v in s.items() if k != "seed"}, "count": count} for s in cfg["data"]["sources"]]
    files = build_cache(sources, Path(cfg["data"]["cache_dir"]), int(cfg["data"]["pair_size"]), seed, log)
    net = net_from_state(state)
    net.eval()
    rows: dict[str, list[tuple[float, ...]]] = {}
    for path in files:
        pair = load_pair(path)
        for k in range(len(pair["times"])):
            feats, target = pair_features(pair, k)
            x = torch.from_numpy(np.ascontiguousarray(feats.transpose(2, 0, 1)))[None]
            with torch.no_grad():
                logits, residual, deltas = net(x)
                prior = log_prior(x[:, T_CHANNEL:T_CHANNEL + 1]).expand_as(logits)
                frames = [fuse(x, logits, residual, deltas), fuse(x, prior, 0 * residual, 0 * deltas)]
            model, classic = (f[0].permute(1, 2, 0).numpy() for f in frames)
            rows.setdefault(path.parent.name.split("-")[0], []).append(
                (psnr(to_uint8(model), to_uint8(target)), psnr(to_uint8(classic), to_uint8(target)),
                 float(np.abs(model - target).mean()),
                 float(np.abs(classic - target).mean()), float(((model - target) ** 2).mean()),
                 float(((classic - target) ** 2).mean())))
    out = {}
    for kind, values in rows.items():
        v = np.array(values).mean(axis=0)
        out[kind] = {"frames": len(values), "psnr": v[0], "classic_psnr": v[1], "delta": v[0] - v[1],
                     "l1": v[2], "classic_l1": v[3], "mse": v[4], "classic_mse": v[5]}
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: prints one line per source kind; exit code 2 with a message for a user mistake."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--config", type=Path, required=True, help="the run's config (its data sources)")
    parser.add_argument("--count", type=int, default=60, help="pairs per source")
    parser.add_argument("--seed", type=int, default=99)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        results = evaluate(args.checkpoint, args.config, args.count, args.seed)
    except InputError as exc:
        print(f"heldout: error: {exc}", file=sys.stderr)
        return 2
    for kind, r in results.items():
        print(f"{kind}: {r['frames']} frames, PSNR {r['psnr']:.3f} vs classic {r['classic_psnr']:.3f} "
              f"({r['delta']:+.3f} dB), L1 {r['l1']:.5f} vs {r['classic_l1']:.5f}, "
              f"MSE {r['mse']:.6f} vs {r['classic_mse']:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
