"""``segue farm opencue``: the job as PyOutline builds it, and run for real on OpenCue's RQD.

The serialized spec (Cuebot's XML) is checked layer by layer; then a test acting as
Cuebot (`cuebot_peer`: RQD's report interface, and RQD's own LaunchFrame call) sends
every frame of the spec to a real RQD, which runs the commands: the movie equals what
``segue retime`` writes. What was not run: a real Cuebot (a Java service with a database).
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from cuebot_peer import parse_spec, rqd_node, run_job
from retime_clips import encode, pan, segue, texture

from segue.cli import build_parser

SEGUE = str(Path(sys.executable).parent / "segue")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("opencue-clip")
    return encode(pan(texture(), 20, dx=2, dy=1), folder / "take one.mp4", audio_seconds=0.8)


def write_spec(tmp_path: Path, clip: Path, out: Path, chunks: int) -> Path:
    spec = tmp_path / "job.xml"
    done = segue("farm", "opencue", "retime", clip, "--factor", "2", "-o", out, "--model", "classic",
                 "--chunks", str(chunks), "--spec", spec, "--segue-command", SEGUE, "--show", "docs", "--user", "ed")
    assert done.returncode == 0, done.stderr
    return spec


def test_the_spec_has_three_layers_in_order(tmp_path: Path, clip: Path) -> None:
    out = tmp_path / "out" / "take_x2.mp4"
    spec = parse_spec(write_spec(tmp_path, clip, out, 4).read_text())
    assert (spec.findtext("show"), spec.findtext("user")) == ("docs", "ed")
    layers = {layer.get("name"): layer for layer in spec.iter("layer")}
    assert list(layers) == ["plan", "render", "assemble"]
    assert [layers[n].findtext("range") for n in layers] == ["1-1", "1-4", "1-1"]
    assert float(layers["render"].findtext("cores")) == 2.0 and layers["render"].findtext("memory").endswith("m")
    depends = [(d.findtext("deplayer"), d.findtext("onlayer"), d.get("type")) for d in spec.iter("depend")]
    assert depends == [("render", "plan", "LAYER_ON_LAYER"), ("assemble", "render", "LAYER_ON_LAYER")]
    parser = build_parser()
    for name, layer in layers.items():
        words = shlex.split(layer.findtext("cmd").replace("#IFRAME#", "3"))
        assert words[0] == SEGUE and words[1:4] == ["farm", name, "retime"]
        args = parser.parse_args(words[1:])  # the commands are segue's own, with the job's options
        assert (args.input, args.output, args.factor, args.chunks) == (str(clip), str(out), "2", 4)
        assert getattr(args, "chunk", 3) == 3


def test_the_same_spec_file_is_not_written_over_unless_segues(tmp_path: Path, clip: Path) -> None:
    (tmp_path / "job.xml").write_text("a user's file")
    done = segue("farm", "opencue", "retime", clip, "--factor", "2", "-o", tmp_path / "o.mp4", "--chunks", "2",
                 "--spec", tmp_path / "job.xml")
    assert done.returncode == 2 and "not written by Segue" in done.stderr
    assert (tmp_path / "job.xml").read_text() == "a user's file"


def test_rqd_runs_every_frame_of_the_spec(tmp_path: Path, clip: Path) -> None:
    local = tmp_path / "local" / "take_x2.mp4"
    assert segue("retime", clip, "--factor", "2", "-o", local, "--model", "classic", "-q").returncode == 0
    out = tmp_path / "farm" / "take_x2.mp4"
    spec = parse_spec(write_spec(tmp_path, clip, out, 3).read_text())
    with rqd_node(tmp_path / "rqd") as (cuebot, rqd):
        results = run_job(spec, cuebot, rqd, tmp_path / "logs", env={"HOME": str(tmp_path)})
    assert results == [("plan", 1, 0), ("render", 1, 0), ("render", 2, 0), ("render", 3, 0), ("assemble", 1, 0)], \
        "\n".join(p.read_text() for p in sorted((tmp_path / "logs").glob("*.rqlog")))
    assert out.read_bytes() == local.read_bytes()
