"""Open Job Description bundles written by ``segue farm openjd``, validated and run for real.

``openjd check`` validates every template; ``openjd run`` (openjd-cli, the reference
runtime of the format Deadline Cloud runs) renders a retime in chunks into the movie
``segue retime`` writes, byte for byte, also after a render task killed midway; one
transition template renders several cuts, each folder what ``segue transition`` writes.
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import yaml
from farm_runs import SEGUE, A, B, openjd, run_step, same_folders
from retime_clips import encode, pan, segue, texture

from segue.core.farm import work_folder


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("openjd-clip")
    return encode(pan(texture(1), 24, dx=2, dy=2), folder / "take.mp4", audio_seconds=1.0)


def write_bundle(*args: str) -> Path:
    done = segue("farm", "openjd", *args)
    assert done.returncode == 0, done.stderr
    bundle = Path(args[args.index("--bundle") + 1])
    assert "openjd run" in done.stdout and "deadline bundle submit" in done.stdout
    return bundle


def test_every_bundle_validates_and_says_the_same_values(tmp_path: Path, clip: Path) -> None:
    bundles = {
        "movie": write_bundle("retime", str(clip), "--fps", "50", "-o", str(tmp_path / "o.mp4"), "--chunks", "8",
                              "--bundle", str(tmp_path / "b-movie")),
        "pattern": write_bundle("retime", str(clip), "--slowmo", "3", "-o", str(tmp_path / "s" / "f.%05d.exr"),
                                "--model", "classic", "--chunks", "2", "--bundle", str(tmp_path / "b-pattern")),
        "transition": write_bundle("transition", A, B, "--frames", "12", "-o", str(tmp_path / "cut"),
                                   "--a-out", "-3", "--no-preview", "--chunks", "4",
                                   "--bundle", str(tmp_path / "b-transition")),
    }
    for name, bundle in bundles.items():
        checked = openjd("check", bundle / "template.yaml")
        assert checked.returncode == 0 and "passes validation" in checked.stdout, (name, checked.stdout,
                                                                                   checked.stderr)
        template = yaml.safe_load((bundle / "template.yaml").read_text())
        params = json.loads((bundle / "params.json").read_text())
        values = yaml.safe_load((bundle / "parameter_values.yaml").read_text())["parameterValues"]
        assert {v["name"]: v["value"] for v in values} == params
        assert [s["name"] for s in template["steps"]] == ["Plan", "Render", "Assemble"]
        assert template["steps"][2]["dependencies"] == [{"dependsOn": "Render"}]
        task = template["steps"][1]["parameterSpace"]["taskParameterDefinitions"]
        assert task == [{"name": "Chunk", "type": "INT", "range": "1-{{Param.Chunks}}"}]
        paths = {p["name"]: p for p in template["parameterDefinitions"] if p["type"] == "PATH"}
        assert all(os.path.isabs(params[n]) for n in paths)
        memory = template["steps"][1]["hostRequirements"]["amounts"][1]
        assert memory["name"] == "amount.worker.memory" and memory["min"] >= 1024
    movie = yaml.safe_load((bundles["movie"] / "template.yaml").read_text())
    paths = {p["name"]: p for p in movie["parameterDefinitions"] if p["type"] == "PATH"}
    assert paths["Input"]["dataFlow"] == "IN" and paths["Input"]["objectType"] == "FILE"
    assert paths["Output"]["dataFlow"] == "OUT" and paths["Output"]["objectType"] == "FILE"
    assert "objectType" not in {p["name"]: p for p in yaml.safe_load(
        (bundles["pattern"] / "template.yaml").read_text())["parameterDefinitions"]}["Output"]
    cut = {p["name"]: p for p in yaml.safe_load((bundles["transition"] / "template.yaml").read_text())[
        "parameterDefinitions"]}
    assert cut["OutputDir"]["objectType"] == "DIRECTORY" and cut["Chunks"]["default"] == 4


def test_openjd_run_renders_the_local_movie_even_after_a_killed_task(tmp_path: Path, clip: Path) -> None:
    local = tmp_path / "local" / "take_50.mp4"
    assert segue("retime", str(clip), "--fps", "50", "-o", str(local), "--model", "classic", "-q").returncode == 0
    out = tmp_path / "farm" / "take_50.mp4"
    bundle = write_bundle("retime", str(clip), "--fps", "50", "-o", str(out), "--model", "classic",
                          "--chunks", "3", "--bundle", str(tmp_path / "bundle"))
    plan = run_step(bundle, "Plan")
    assert plan.returncode == 0, plan.stdout + plan.stderr

    # a render task killed midway (with the whole session: openjd, segue, ffmpeg)
    work = work_folder(str(out))
    task = openjd("run", bundle / "template.yaml", "--job-param", f"file://{bundle / 'params.json'}",
                  "--job-param", f"SegueCommand={SEGUE}", "--step", "Render", "--task-param", "Chunk=2", wait=False)
    deadline = time.monotonic() + 120  # a bound on waiting, not a timed assertion
    while not any(p.name.startswith(".chunk_0002.mkv.tmp-") for p in work.iterdir()):
        assert task.poll() is None, task.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.killpg(task.pid, signal.SIGKILL)
    task.wait()
    assert not (work / "chunk_0002.json").exists() and not (work / "chunk_0002.mkv").exists()

    done = run_step(bundle, "Assemble", "--run-dependencies")
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_bytes() == local.read_bytes()
    assert not [p for p in out.parent.iterdir() if "segue-part" in p.name or ".tmp-" in p.name]
    again = run_step(bundle, "Assemble", "--run-dependencies")  # the whole job once more: nothing changes
    assert again.returncode == 0 and out.read_bytes() == local.read_bytes()


def test_one_transition_template_renders_many_cuts(tmp_path: Path, clip: Path) -> None:
    bundle = write_bundle("transition", A, B, "--frames", "5", "-o", str(tmp_path / "cuts" / "0"), "--model",
                          "classic", "--chunks", "2", "--bundle", str(tmp_path / "bundle"))
    cuts = [(A, B), (B, A), (str(clip), A)]
    for n, (clip_a, clip_b) in enumerate(cuts):
        params = tmp_path / f"cut{n}.json"
        params.write_text(json.dumps({"ClipA": clip_a, "ClipB": clip_b, "OutputDir": str(tmp_path / "cuts" / str(n)),
                                      "Chunks": 2}))
        done = run_step(bundle, "Assemble", "--run-dependencies", params=params)
        assert done.returncode == 0, done.stdout + done.stderr
        local = segue("transition", clip_a, clip_b, "--frames", "5", "-o", tmp_path / "local" / str(n), "--model",
                      "classic", "-q")
        assert local.returncode == 0, local.stderr
        same_folders(tmp_path / "local" / str(n), tmp_path / "cuts" / str(n))


def test_many_cuts_as_one_job(tmp_path: Path, clip: Path) -> None:
    cuts = [{"clip_a": A, "clip_b": B, "out_dir": str(tmp_path / "cuts" / "1"), "frames": 4},
            {"clip_a": B, "clip_b": A, "out_dir": str(tmp_path / "cuts" / "2"), "a_out": -2, "b_in": 1},
            {"clip_a": str(clip), "clip_b": A, "out_dir": str(tmp_path / "cuts" / "3")}]
    (tmp_path / "cuts.json").write_text(json.dumps(cuts))
    bundle = write_bundle("cuts", str(tmp_path / "cuts.json"), "--frames", "4", "--model", "classic",
                          "--chunks", "3", "--bundle", str(tmp_path / "bundle"))  # 4 frames: chunk 3 of 3 is 1 frame
    checked = openjd("check", bundle / "template.yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    render = yaml.safe_load((bundle / "template.yaml").read_text())["steps"][1]["parameterSpace"]
    assert render["combination"] == "(ClipA, ClipB, OutputDir, Frames, AOut, BIn) * Chunk"
    done = run_step(bundle, "Assemble", "--run-dependencies")
    assert done.returncode == 0, done.stdout + done.stderr
    for n, cut in enumerate(cuts, start=1):
        options = [f"--a-out={cut.get('a_out', -1)}", f"--b-in={cut.get('b_in', 0)}"]
        local = segue("transition", cut["clip_a"], cut["clip_b"], "--frames", "4", *options, "-o",
                      tmp_path / "local" / str(n), "--model", "classic", "-q")
        assert local.returncode == 0, local.stderr
        same_folders(tmp_path / "local" / str(n), tmp_path / "cuts" / str(n))


@pytest.mark.parametrize("cuts,words", [
    ("not json", ["not a JSON list"]),
    ("[]", ["list of 1 to 1024 cuts"]),
    ('[{"clip_a": "a.mov", "clip_b": "b.mov"}]', ["cut 1", "out_dir is missing"]),
    ('[{"clip_a": "a.mov", "clip_b": "b.mov", "out_dir": "o", "frames": "8"}]', ["cut 1", "frames must be"]),
    ('[{"clip_a": "a.mov", "clip_b": "b.mov", "out_dir": "o", "frames": 8, "speed": 2}]', ["unknown field 'speed'"]),
    ('[{"clip_a": "a.mov", "clip_b": "b.mov", "out_dir": "o", "frames": 0}]', ["cut 1", "frames"]),
    ('[{"clip_a": "a", "clip_b": "b", "out_dir": "o", "frames": 2}, {"clip_a": "a", "clip_b": "b", "out_dir": "o", '
     '"frames": 2}]', ["both write to"]),
    ('[{"clip_a": "a", "clip_b": "b", "out_dir": "o{{Param.Chunks}}", "frames": 2}]', ["cut 1", "out_dir",
                                                                                       "job template cannot hold"]),
    ('[{"clip_a": "a", "clip_b": "b", "out_dir": "o", "frames": 2, "colorspace_a": 7}]', ["colorspace_a must be text"]),
])
def test_a_bad_cuts_file_is_refused_naming_the_cut(tmp_path: Path, cuts: str, words: list[str]) -> None:
    from retime_clips import assert_user_error

    (tmp_path / "cuts.json").write_text(cuts)
    done = segue("farm", "openjd", "cuts", tmp_path / "cuts.json", "--chunks", "2", "--bundle", tmp_path / "b")
    assert_user_error(done, str(tmp_path / "cuts.json"), *words)
    assert not (tmp_path / "b").exists()
