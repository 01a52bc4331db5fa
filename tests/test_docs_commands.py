"""Every command the README and docs/ show runs as written, as far as a test can run it.

Each ``segue`` and ``segue-renderd`` line of their shell blocks is parsed by the real
command-line parser (options, choices and required arguments as written); a config file
a line names must exist in the repository; each script (``python bench/...``,
``python -m segue.training....``, ``python plugins/...``) must answer ``--help``. Lines that
install or set up (venv, pip, apt) and third-party tools are left to the README's own
fresh-machine commands, which CI runs.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from segue.cli import build_parser as segue_parser
from segue.renderd.cli import build_parser as renderd_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: first words of lines that set a machine up or run someone else's tool
NOT_OURS = ("python3 -m venv", "pip ", ". ", "apt-get", "dpkg ", "tensorboard", "ruff ", "python -m pytest",
            "cd ", "mkdir", "for ", "D=")


def shell_commands() -> list[tuple[str, str]]:
    """(document, command) for every command in the documents' shell blocks, ``&&`` chains split."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip().rstrip("&").strip()
                if line and not line.startswith("#"):
                    found += [(doc.name, part.strip()) for part in line.split("&&")]
    return found


COMMANDS = shell_commands()
OURS = [(doc, cmd) for doc, cmd in COMMANDS if not cmd.startswith(NOT_OURS)]


def test_the_documents_show_commands() -> None:
    assert len(OURS) > 30, OURS  # the scan itself works: the README alone shows dozens


@pytest.mark.parametrize("doc,command", [c for c in OURS if c[1].split()[0] in ("segue", "segue-renderd")],
                         ids=lambda v: v[:60])
def test_segue_commands_parse_as_written(doc: str, command: str) -> None:
    words = shlex.split(command)
    parser = segue_parser() if words[0] == "segue" else renderd_parser()
    try:
        args = parser.parse_args(words[1:])
    except SystemExit as exc:
        pytest.fail(f"{doc}: `{command}` does not parse (exit {exc.code})")
    config = getattr(args, "config", None)
    if config:
        assert (REPO / config).is_file(), f"{doc}: `{command}` names a config that does not exist"


#: scripts run by path, and modules run with ``python -m``
RUN_BY_PATH, RUN_AS_MODULE = ("python bench/", "python plugins/"), ("python -m segue.training.",)
SCRIPTS = sorted({shlex.split(cmd)[1 if cmd.startswith(RUN_BY_PATH) else 2]
                  for _, cmd in OURS if cmd.startswith(RUN_BY_PATH + RUN_AS_MODULE)})


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_answer_help(script: str) -> None:
    argv = [sys.executable, "-m", script] if not script.endswith(".py") else [sys.executable, script]
    done = subprocess.run([*argv, "--help"], capture_output=True, text=True, cwd=REPO, check=False, timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr


def test_every_command_is_either_checked_or_set_up() -> None:
    checked = ("segue ", "segue-renderd ", *RUN_BY_PATH, *RUN_AS_MODULE)
    unknown = [f"{doc}: {cmd}" for doc, cmd in OURS if not cmd.startswith(checked)]
    assert not unknown, "commands no test checks:\n" + "\n".join(unknown)
