"""Training configs: ``extends``, path resolution per file, clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from segue.core.errors import InputError
from segue.training.config import load_config

REPO = Path(__file__).resolve().parents[2]

BASE = """
[run]
out_dir = "runs/base"

[data]
cache_dir = "cache"

[[data.sources]]
kind = "footage"
count = 10
paths = ["clips/"]

[model]
init = "weights/start.pt"

[train]
steps = 100
lr = 1e-3
loss = { charbonnier = 1.0, laplacian = 0.1 }
"""


def test_a_config_extends_another_key_by_key_with_paths_resolved_per_file(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "stages").mkdir()
    (tmp_path / "base" / "base.toml").write_text(BASE)
    child = tmp_path / "stages" / "child.toml"
    child.write_text('extends = "../base/base.toml"\n\n[run]\nout_dir = "runs/child"\n\n'
                     '[train]\nsteps = 300\nloss = { log_mse = 1.0 }\n')
    cfg = load_config(child)
    base = (tmp_path / "base").resolve()
    assert cfg["run"]["out_dir"] == str((tmp_path / "stages" / "runs" / "child").resolve())
    assert cfg["data"]["cache_dir"] == str(base / "cache")  # the base's paths stay the base's
    assert cfg["model"]["init"] == str(base / "weights" / "start.pt")
    assert cfg["data"]["sources"][0]["paths"] == [str(base / "clips")]
    assert cfg["train"]["steps"] == 300 and cfg["train"]["lr"] == 1e-3  # overridden, inherited
    assert cfg["train"]["loss"] == {"log_mse": 1.0}  # the loss is one choice: replaced, not merged
    # A list of sources replaces the base's list whole.
    child.write_text(child.read_text() + '\n[[data.sources]]\nkind = "synthetic"\ncount = 5\n')
    assert [s["kind"] for s in load_config(child)["data"]["sources"]] == ["synthetic"]


def test_extends_errors_name_the_files(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text('extends = "b.toml"\n')
    b.write_text('extends = "a.toml"\n' + BASE)
    with pytest.raises(InputError, match="in a circle") as err:
        load_config(a)
    assert str(a.resolve()) in str(err.value) and str(b.resolve()) in str(err.value)
    a.write_text('extends = "missing.toml"\n')
    with pytest.raises(InputError, match="missing.toml, which does not exist") as err:
        load_config(a)
    assert str(a) in str(err.value)
    a.write_text("extends = 3\n")
    with pytest.raises(InputError, match="extends must be the path"):
        load_config(a)


def test_every_shipped_config_loads_and_stages_inherit_their_data():
    configs = sorted((REPO / "configs").glob("*.toml"))
    loaded = {c.stem: load_config(c) for c in configs}
    assert {"flow", "cost", "static2", "fine"} <= set(loaded)
    assert loaded["fine"]["data"]["sources"] == loaded["static2"]["data"]["sources"]
    assert loaded["cost"]["data"]["sources"] == loaded["flow"]["data"]["sources"]
    assert loaded["fine"]["model"]["cost_radius"] == 3 and loaded["fine"]["model"]["fine_cost_radius"] == 1
    assert loaded["cost_scratch"]["model"]["init"] == ""  # cleared: the classical start
    assert loaded["fine"]["model"]["init"] == str(REPO / "runs" / "static2" / "checkpoints" / "step_0003000.pt")
