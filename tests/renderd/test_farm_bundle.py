"""``WriteFarmBundle``: the daemon writes the render-farm job of an editor's cuts.

The bundle it writes is run for real with ``openjd run`` (as its README says, word for
word): every cut's folder is what ``segue transition`` writes locally, and its frames land
exactly where the answer said they would. Every refusal names the cut and the field, and
leaves no bundle behind.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import grpc
import pytest
import yaml
from farm_runs import BIN, A, B, openjd, same_folders
from renderd_harness import rooted_daemon
from retime_clips import segue

from segue.renderd._proto import render_pb2 as pb

LINEAR = "Linear Rec.709 (sRGB)"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    process, root, _ = rooted_daemon(tmp_path_factory, "editor")
    yield process, root
    assert process.stop() == 0


def cut(out: Path, **fields) -> pb.TransitionSpec:
    return pb.TransitionSpec(**{"clip_a": A, "clip_b": B, "frames": 3, "out_dir": str(out), "model": "classic",
                                **fields})


def test_the_bundle_renders_every_cut_where_the_answer_said(daemon, tmp_path: Path) -> None:
    process, root = daemon
    bundle = root / "farm"
    cuts = [cut(bundle / "cut1"), cut(bundle / "cut2", clip_a=B, clip_b=A, frames=4, a_out=-2, b_in=1,
                                      colorspace_b=LINEAR)]
    answer = process.call("WriteFarmBundle", pb.WriteFarmBundleRequest(cuts=cuts, chunks=2, bundle_dir=str(bundle),
                                                                        name="Jump cuts, reel 1"))
    assert [Path(f).name for f in answer.files] == ["template.yaml", "params.json", "parameter_values.yaml",
                                                    "README.md"]
    assert [len(c.frame_paths) for c in answer.cuts] == [3, 4]
    assert answer.cuts[0].frame_paths[0] == str(bundle / "cut1" / "frame_0001.png")
    assert not (bundle / "cut1").exists()  # nothing rendered: the farm does that
    template = yaml.safe_load((bundle / "template.yaml").read_text())
    assert template["name"] == "Jump cuts, reel 1"
    checked = openjd("check", bundle / "template.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the README's command, as written (segue on the PATH)
    readme = (bundle / "README.md").read_text()
    command = re.search(r"```sh\n(openjd run .*)\n```", readme).group(1)
    assert str(A) in readme and str(bundle / "cut2") in readme
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    for n, spec in enumerate(cuts, start=1):
        planned = answer.cuts[n - 1]
        assert [str(p) for p in sorted((bundle / f"cut{n}").glob("frame_*.png"))] == list(planned.frame_paths)
        output = json.loads((bundle / f"cut{n}" / "transition.json").read_text())["output"]
        assert (output["colorspace"], output["width"], output["height"]) == (planned.colorspace, planned.width,
                                                                            planned.height)
        a_out, b_in = (spec.a_out, spec.b_in) if spec.HasField("a_out") else (-1, 0)  # unset: the defaults
        options = [f"--a-out={a_out}", f"--b-in={b_in}"] + (["--colorspace-b", LINEAR] if n == 2 else [])
        local = segue("transition", spec.clip_a, spec.clip_b, "--frames", str(spec.frames), *options, "-o",
                      tmp_path / str(n), "--model", "classic", "-q")
        assert local.returncode == 0, local.stderr
        same_folders(tmp_path / str(n), bundle / f"cut{n}")


@pytest.mark.parametrize("change,code,field", [
    (lambda r, root: r.cuts[1].MergeFrom(pb.TransitionSpec(clip_a="/etc/passwd")), "PERMISSION_DENIED",
     "cuts[1].clip_a"),
    (lambda r, root: r.cuts[1].MergeFrom(pb.TransitionSpec(a_out=999)), "INVALID_ARGUMENT", "cuts[1].a_out"),
    (lambda r, root: setattr(r.cuts[1], "frames", 0), "INVALID_ARGUMENT", "cuts[1].frames"),
    (lambda r, root: r.cuts[1].MergeFrom(pb.TransitionSpec(model="auto")), "INVALID_ARGUMENT", "cuts[1].model"),
    (lambda r, root: r.cuts[1].MergeFrom(pb.TransitionSpec(out_dir=r.cuts[0].out_dir)), "INVALID_ARGUMENT",
     "cuts[1].out_dir"),
    (lambda r, root: r.cuts[0].MergeFrom(pb.TransitionSpec(out_dir=str(root / "a{{Param.Chunks}}"))),
     "INVALID_ARGUMENT", "cuts[0].out_dir"),
    (lambda r, root: setattr(r, "bundle_dir", "/tmp/elsewhere"), "PERMISSION_DENIED", "bundle_dir"),
    (lambda r, root: setattr(r, "bundle_dir", "relative/bundle"), "INVALID_ARGUMENT", "bundle_dir"),
    (lambda r, root: setattr(r, "chunks", 0), "INVALID_ARGUMENT", "chunks"),
    (lambda r, root: setattr(r, "name", "reel {{1}}"), "INVALID_ARGUMENT", "name"),
    (lambda r, root: r.ClearField("cuts"), "INVALID_ARGUMENT", "cuts"),
])
def test_a_refusal_names_the_cut_and_the_field(daemon, change, code: str, field: str) -> None:
    process, root = daemon
    bundle = root / f"refused-{field.replace('[', '').replace(']', '').replace('.', '-')}"
    request = pb.WriteFarmBundleRequest(cuts=[cut(bundle / "1"), cut(bundle / "2")], chunks=2,
                                        bundle_dir=str(bundle))
    change(request, root)
    with pytest.raises(grpc.RpcError) as caught:
        process.call("WriteFarmBundle", request)
    assert caught.value.code().name == code
    assert caught.value.details().startswith(f"{field}: "), caught.value.details()
    assert not bundle.exists()


def test_a_file_of_the_same_name_that_segue_did_not_write_is_kept(daemon) -> None:
    process, root = daemon
    bundle = root / "theirs"
    bundle.mkdir()
    (bundle / "README.md").write_text("the editor's own notes")
    request = pb.WriteFarmBundleRequest(cuts=[cut(bundle / "1")], chunks=1, bundle_dir=str(bundle))
    with pytest.raises(grpc.RpcError) as caught:
        process.call("WriteFarmBundle", request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "README.md" in caught.value.details()
    assert (bundle / "README.md").read_text() == "the editor's own notes"
    assert sorted(p.name for p in bundle.iterdir()) == ["README.md"]
