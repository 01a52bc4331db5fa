"""`training.heldout`: a checkpoint scored against classic on unseen pairs of its training distribution."""
from __future__ import annotations

import math

import pytest
from model_fixtures import tiny_config

from segue.core.errors import InputError
from segue.training.heldout import evaluate, main

pytest_plugins = ("model_fixtures",)


def test_heldout_scores_new_pairs_against_classic(tiny_run):
    res = evaluate(tiny_run["final"], tiny_run["config"], count=2, seed=99, log=lambda m: None)
    r = res["synthetic"]
    assert r["frames"] == 4  # 2 new pairs x times_per_pair
    assert 15.0 < r["classic_psnr"] < 60.0 and math.isfinite(r["psnr"])
    assert r["delta"] == pytest.approx(r["psnr"] - r["classic_psnr"])
    # a model that differs from classic must show it in the errors too
    assert r["mse"] != r["classic_mse"] and r["l1"] != r["classic_l1"]


def test_heldout_refuses_the_runs_own_seed(tiny_run, tmp_path):
    with pytest.raises(InputError, match="seed"):
        evaluate(tiny_run["final"], tiny_run["config"], count=2, seed=7)
    # and a source's own seed: those pairs were trained on too
    config = tiny_config(tmp_path, **{"times_per_pair = 2": "times_per_pair = 2\nseed = 11"})
    with pytest.raises(InputError, match="11"):
        evaluate(tiny_run["final"], config, count=2, seed=11)


def test_heldout_command_names_a_missing_checkpoint_with_exit_code_2(tiny_run, tmp_path, capsys):
    cache = tiny_run["folder"] / "cache"
    before = sorted(cache.iterdir())
    missing = tmp_path / "no.pt"
    assert main([str(missing), "--config", str(tiny_run["config"]), "--count", "2", "--seed", "123"]) == 2
    assert "no.pt" in capsys.readouterr().err
    assert sorted(cache.iterdir()) == before  # the checkpoint is checked before any pair is built
