"""Generate the Python stubs of proto/segue/render/v1/render.proto.

    python proto/build_stubs.py --out DIR

Writes ``DIR/__init__.py``, ``render_pb2.py``, ``render_pb2.pyi`` and
``render_pb2_grpc.py``: a flat package that the build installs as ``segue.renderd._proto``.
The build runs this script (proto/CMakeLists.txt) with grpcio-tools from
``[build-system].requires``; the output lives in the build folder, never in the source
tree, and is never committed.

Why a flat package with a relative import: protoc names the message module after the
proto's path (``segue.render.v1.render_pb2``) and the gRPC module imports it by that
absolute name. Rewriting that one import to ``from . import render_pb2`` lets the stubs
live inside ``renderd`` and be vendored (e.g. into the Blender extension) as a unit,
without claiming a top-level ``segue`` package. The descriptor keeps its canonical file
name ``segue/render/v1/render.proto``.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
PROTO_FILE = "segue/render/v1/render.proto"
OUTPUTS = ("render_pb2.py", "render_pb2.pyi", "render_pb2_grpc.py")
_ABSOLUTE_IMPORT = re.compile(r"^from segue\.render\.v1 import render_pb2 as ", re.MULTILINE)

INIT = '''"""Generated from proto/segue/render/v1/render.proto by proto/build_stubs.py. Do not edit."""
'''


def generate(out: Path) -> None:
    """Run protoc (from grpcio-tools) and write the stub package into ``out``."""
    try:
        import grpc_tools
        from grpc_tools import protoc  # build-time dependency only
    except ImportError:
        raise SystemExit("build_stubs.py needs grpcio-tools, which the build installs for itself: to run it by hand, "
                         f"pip install grpcio-tools=={_build_requirement('grpcio-tools')}") from None

    well_known = Path(grpc_tools.__file__).resolve().parent / "_proto"  # google/protobuf/*.proto
    with tempfile.TemporaryDirectory() as tmp:
        args = ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", f"--python_out={tmp}", f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}", str(PROTO_ROOT / PROTO_FILE)]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed on {PROTO_FILE}")
        generated = Path(tmp) / Path(PROTO_FILE).parent
        grpc_module = generated / "render_pb2_grpc.py"
        text, count = _ABSOLUTE_IMPORT.subn("from . import render_pb2 as ", grpc_module.read_text())
        if count != 1:  # a grpcio-tools change of style must fail the build, not ship broken stubs
            raise SystemExit(f"expected one absolute render_pb2 import in {grpc_module.name}, found {count}")
        grpc_module.write_text(text)
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS:
            shutil.copyfile(generated / name, out / name)
    (out / "__init__.py").write_text(INIT)


def _build_requirement(name: str) -> str:
    """The version of ``name`` that pyproject.toml's ``[build-system].requires`` pins."""
    text = (PROTO_ROOT.parent / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(rf'"{re.escape(name)}==([^"]+)"', text)
    return found.group(1) if found else "<see pyproject.toml>"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write the stub package into")
    generate(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
