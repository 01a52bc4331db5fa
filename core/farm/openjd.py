"""Open Job Description job bundles of a farm job (`jobtemplate-2023-09`, as Deadline Cloud runs).

A bundle is a folder:

* ``template.yaml``: the job template. Steps ``Plan`` -> ``Render`` (one task per chunk:
  task parameter ``Chunk``, an INT over ``1-{{Param.Chunks}}``) -> ``Assemble``, each
  running ``segue farm STEP KIND`` with the job's options. File paths are PATH job
  parameters (the farm remaps them per worker); ``Chunks`` and the command are
  parameters too. The steps carry host requirements (vCPUs, memory) derived from
  the frame size (`host_memory_mib`).
* ``params.json``: ``{name: value}`` for ``openjd run template.yaml --job-param file://params.json``.
* ``parameter_values.yaml``: the same values in Deadline Cloud's job-bundle form.
* ``README.md``: how to run and submit it, and the paths it reads and writes (`readme`).

Running the ``Assemble`` step with ``--run-dependencies`` renders the whole job.
`cuts_template` is the template of many transitions as one job: each step runs once per
cut, the cuts' own values being task parameters.
"""
from __future__ import annotations

import json
import math
import os
import re
import shlex
from pathlib import Path

from segue.core import __version__
from segue.core.errors import InputError
from segue.core.farm.chunks import MAX_CHUNKS, TOKEN
from segue.core.output import atomic_write_text
from segue.core.ownership import Ledger

SPECIFICATION = "jobtemplate-2023-09"
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: plain words YAML 1.1 (PyYAML, which reads templates) takes for booleans or null
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
FILES = ("template.yaml", "params.json", "parameter_values.yaml", "README.md")
#: memory a render task needs beyond its frames: the interpreter, onnxruntime, the model
BASE_MEMORY_MIB = 1024
#: working memory per pixel of the frame (decoded window, flows, warps, the encoder's copy)
BYTES_PER_PIXEL = 600
VCPUS = 2
#: longest job name the specification allows
MAX_NAME = 512


def host_memory_mib(width: int, height: int) -> int:
    """Memory a task asks for: `BASE_MEMORY_MIB` plus `BYTES_PER_PIXEL` a pixel, in MiB (rounded up to 256)."""
    mib = BASE_MEMORY_MIB + width * height * BYTES_PER_PIXEL / 2**20
    return int(math.ceil(mib / 256) * 256)


def path_parameter(name: str, value: str, data_flow: str, description: str) -> dict:
    """A PATH job parameter whose object type follows what ``value`` is (a file, a folder, a pattern)."""
    param = {"name": name, "type": "PATH", "dataFlow": data_flow, "description": description}
    pattern = TOKEN.search(Path(value).name) is not None
    if os.path.isdir(value) or (data_flow == "OUT" and not pattern and not Path(value).suffix):
        param["objectType"] = "DIRECTORY"
    elif os.path.isfile(value) or (data_flow == "OUT" and not pattern):
        param["objectType"] = "FILE"
    return param


def job_template(name: str, kind: str, paths: list[tuple[dict, str]], options: list[str], chunks: int,
                 width: int, height: int) -> dict:
    """The job template of a farm job.

    ``paths``: PATH parameters and how each goes on the command line: ``""`` for a
    positional argument, else its option (``-o``). ``options``: the rest of the command
    (`commands`); ``width`` x ``height``: the output's frame size (host requirements).
    """
    def argv(step: str) -> list[str]:
        out = ["farm", step, kind]
        for param, flag in paths:
            out += ([flag] if flag else []) + ["{{Param.%s}}" % param["name"]]
        return [*out, *options]

    return _template(name, f"Segue {__version__} {kind}: plan, render in chunks, assemble (docs/farm.md)",
                     [param for param, _ in paths], argv, chunks, width, height)


#: a cut's own values in a template of many cuts: task parameter, cut key, type, command-line option
CUT_PARAMETERS = (("ClipA", "clip_a", "PATH", ""), ("ClipB", "clip_b", "PATH", ""),
                  ("OutputDir", "out_dir", "PATH", "-o"), ("Frames", "frames", "INT", "--frames"),
                  ("AOut", "a_out", "INT", "--a-out"), ("BIn", "b_in", "INT", "--b-in"),
                  ("ColorspaceA", "colorspace_a", "STRING", "--colorspace-a"),
                  ("ColorspaceB", "colorspace_b", "STRING", "--colorspace-b"))


def cuts_template(name: str, cuts: list[dict], options: list[str], chunks: int, width: int, height: int) -> dict:
    """One job of many transitions (an editor's selected cuts): every step runs once per cut.

    ``cuts``: per cut ``clip_a``, ``clip_b``, ``out_dir`` (absolute), ``frames``, ``a_out``,
    ``b_in``, and optionally ``colorspace_a`` and ``colorspace_b`` (all cuts or none; ""
    for the clip's default); they become task parameters taken together (``(ClipA, ClipB,
    ...)``: cut k's values go together), the render step's crossed with ``Chunk``.
    ``options``: what the cuts share (`commands`, without ``--frames``). The largest output
    frame sets the host requirements.
    """
    own = [p for p in CUT_PARAMETERS if p[1] in cuts[0]]
    per_cut = [{"name": n, "type": kind, "range": [cut[key] for cut in cuts]} for n, key, kind, _ in own]

    def argv(step: str) -> list[str]:
        out = ["farm", step, "transition"]
        for param, _, _, flag in own:  # --flag=VALUE: a value starting with "-" is still the value
            value = "{{Task.Param.%s}}" % param
            out += [f"{flag}={value}"] if flag.startswith("--") else [flag, value] if flag else [value]
        return [*out, *options]

    return _template(name, f"Segue {__version__}: {len(cuts)} transitions, each planned, rendered in chunks and "
                     "assembled (docs/farm.md)", [], argv, chunks, width, height, per_cut)


def check_template_text(what: str, value: str, field: str) -> None:
    """`InputError` naming ``field`` if ``value`` cannot stand in a template as written: it
    holds ``{{`` or ``}}`` (a template reads those as its expressions) or control characters."""
    if "{{" in value or "}}" in value:
        raise InputError(f"{what} {value!r} contains '{{{{' or '}}}}', which a job template cannot hold", field=field)
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise InputError(f"{what} {value!r} contains control characters", field=field)


def _template(name: str, description: str, params: list[dict], argv, chunks: int, width: int, height: int,
              per_task: list[dict] | None = None) -> dict:
    """Steps Plan -> Render (crossed with ``Chunk``) -> Assemble, each ``argv(step)`` plus the chunk options."""
    if not 1 <= len(name) <= MAX_NAME:
        raise InputError(f"the job name must be 1 to {MAX_NAME} characters long (got {len(name)})", field="name")
    check_template_text("the job name", name, "name")
    host = {"amounts": [{"name": "amount.worker.vcpu", "min": VCPUS},
                        {"name": "amount.worker.memory", "min": host_memory_mib(width, height)}]}
    together = "(" + ", ".join(p["name"] for p in per_task or ()) + ")"

    def step(step_name: str, step: str, after: str | None) -> dict:
        body = {"name": step_name}
        if after:
            body["dependencies"] = [{"dependsOn": after}]
        spaces = list(per_task or ())
        extra = ["--chunks", "{{Param.Chunks}}"]
        if step == "render":
            spaces.append({"name": "Chunk", "type": "INT", "range": "1-{{Param.Chunks}}"})
            extra += ["--chunk", "{{Task.Param.Chunk}}"]
        if spaces:
            body["parameterSpace"] = {"taskParameterDefinitions": spaces}
        if per_task:  # a cut's values go together (the default would cross them all)
            body["parameterSpace"]["combination"] = together + (" * Chunk" if step == "render" else "")
        body["hostRequirements"] = host
        body["script"] = {"actions": {"onRun": {"command": "{{Param.SegueCommand}}",
                                                "args": [*argv(step), *extra, "--quiet"]}}}
        return body

    return {
        "specificationVersion": SPECIFICATION,
        "name": name,
        "description": description,
        "parameterDefinitions": [
            *params,
            {"name": "Chunks", "type": "INT", "minValue": 1, "maxValue": MAX_CHUNKS, "default": chunks,
             "description": "Render tasks: the output frames are split into this many chunks"},
            {"name": "SegueCommand", "type": "STRING", "default": "segue",
             "description": "The segue command on the workers (a name on their PATH, or a full path)"},
        ],
        "steps": [step("Plan", "plan", None), step("Render", "render", "Plan"), step("Assemble", "assemble", "Render")],
    }


def write_bundle(bundle: str, template: dict, values: dict[str, object]) -> list[Path]:
    """Write the bundle's three files into the folder ``bundle``; return their paths.

    Only the bundle's own files are written (atomically, recorded in the folder's ledger);
    anything else in the folder stays, and a file of those names that Segue did not write
    is refused, not replaced.
    """
    folder = Path(bundle)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--bundle {bundle} is a file, not a folder", field="bundle")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the bundle folder {bundle}: {exc.strerror or exc}", field="bundle") from None
    texts = {"template.yaml": to_yaml(template),
             "params.json": json.dumps(values, indent=2) + "\n",
             "parameter_values.yaml": to_yaml({"parameterValues": [{"name": k, "value": v}
                                                                   for k, v in values.items()]}),
             "README.md": readme(folder.resolve(), template, values)}
    ledger = Ledger(folder)
    ledger.check_free(FILES, "choose another --bundle folder")
    for name in FILES:
        atomic_write_text(folder / name, texts[name], before_replace=ledger.recorder(name))
    return [folder / name for name in FILES]


def readme(folder: Path, template: dict, values: dict[str, object]) -> str:
    """The bundle's ``README.md``: what the job is, how to run it (``openjd run``) and submit
    it (Deadline Cloud), and every path it reads and writes (which a farm may remap)."""
    paths = [(p["name"], values[p["name"]], p["dataFlow"]) for p in template["parameterDefinitions"]
             if p.get("type") == "PATH" and p["name"] in values]
    spaces = template["steps"][0].get("parameterSpace", {}).get("taskParameterDefinitions", [])
    for param in spaces:
        if param["type"] == "PATH":
            flow = "OUT" if param["name"] == "OutputDir" else "IN"
            paths += [(param["name"], value, flow) for value in dict.fromkeys(param["range"])]
    reads = [f"- `{value}` ({name})" for name, value, flow in paths if flow == "IN"]
    writes = [f"- `{value}` ({name})" for name, value, flow in paths if flow != "IN"]
    template_file, params_file = shlex.quote(str(folder / "template.yaml")), shlex.quote(f"file://{folder}/params.json")
    return "\n".join([
        f"# {template['name']}",
        "",
        f"An Open Job Description job bundle ({SPECIFICATION}) written by Segue {__version__}.",
        template["description"],
        "",
        "- `template.yaml`: the job: steps Plan -> Render (one task per chunk) -> Assemble;",
        "- `params.json`: its parameter values, for `openjd run`;",
        "- `parameter_values.yaml`: the same values, for Deadline Cloud.",
        "",
        "## Render it on one machine",
        "",
        "With Segue and openjd-cli (`pip install openjd-cli`) installed:",
        "",
        "```sh",
        f"openjd run {template_file} --job-param {params_file} --step Assemble --run-dependencies",
        "```",
        "",
        "If `segue` is not on the PATH, add `--job-param SegueCommand=/full/path/to/segue`.",
        "",
        "## Submit it to AWS Deadline Cloud",
        "",
        "With the `deadline` CLI configured for your farm and queue, and Segue installed on the workers:",
        "",
        "```sh",
        f"deadline bundle submit {shlex.quote(str(folder))}",
        "```",
        "",
        "The workers must reach the paths below: give the queue a storage profile (or job attachments)",
        "that maps them; they are PATH parameters, which the farm remaps per worker.",
        "",
        "## Paths",
        "",
        "Reads:",
        "",
        *(reads or ["- none"]),
        "",
        "Writes:",
        "",
        *(writes or ["- none"]),
        "",
        "## Running it again",
        "",
        "Every step can run again: rendered chunks are kept, a killed task is simply run again, and the",
        "output is byte for byte what a local `segue` run writes. See docs/farm.md in Segue's documentation.",
        "",
    ])


def to_yaml(value: object, indent: int = 0) -> str:
    """Block-style YAML of dicts, lists, strings, numbers and booleans.

    Strings are written double-quoted with JSON's escapes, which YAML reads the same way,
    so no value (a path with ``: `` or ``#`` in it, ``yes``, ``1.0``) changes meaning; a
    key is quoted too unless it is a plain name YAML 1.1 reads as a string.
    """
    pad = " " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            key = key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML11_WORDS else json.dumps(key)
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{to_yaml(item, indent + 2)}")
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
        return "\n".join(lines) + ("\n" if indent == 0 else "")
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                body = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {body[indent + 2:]}")
            else:
                lines.append(f"{pad}- {_scalar(item)}")
        return "\n".join(lines)
    return pad + _scalar(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value)
    if value == [] or value == {}:
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")
