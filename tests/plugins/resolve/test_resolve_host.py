"""Resolve's Python without grpcio/protobuf: the script explains what to install instead of failing."""
from __future__ import annotations

import json
import subprocess
import sys

from resolve_harness import PLUGIN

BLOCKED = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in ('grpc', 'google'):\n"
    "            raise ImportError('blocked: ' + name)\n"
    "sys.meta_path.insert(0, Block())\n"
    f"sys.path.insert(0, {str(PLUGIN)!r})\n"
    "from segue_resolve.host import prepare_client_imports\n"
    "print(prepare_client_imports(sys.argv[1]))\n"
)


def advice(lib) -> str:
    result = subprocess.run([sys.executable, "-c", BLOCKED, str(lib)], capture_output=True, text=True, check=True,
                            timeout=120)
    return result.stdout


def test_missing_grpc_is_explained_with_the_install_command(tmp_path):
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    (tmp_path / "site.json").write_text(json.dumps({"python": version, "paths": [str(tmp_path)]}))
    text = advice(tmp_path)
    assert f"Resolve's Python {version} cannot import grpcio and protobuf" in text
    assert f"python{version} -m pip install --user 'grpcio>=1.85.1' 'protobuf>=7.35.1,<8'" in text


def test_an_environment_of_another_python_is_named(tmp_path):
    (tmp_path / "site.json").write_text(json.dumps({"python": "2.7", "paths": []}))
    assert "Segue's environment has Python 2.7" in advice(tmp_path)
