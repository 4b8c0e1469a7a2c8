"""Generate the Python gRPC stubs from protos/postroom/v1/*.proto.

`make protos` runs this; tests/unit/core/test_generated_stubs.py runs it into a temporary
folder and fails when the committed stubs differ. protoc writes absolute imports
(`from postroom.v1 import events_pb2`), so they are rewritten to the package they live in.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grpc_tools import protoc

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE = "services.core.generated"
DEFAULT_OUT = PROTO_ROOT.parent / "services" / "core" / "generated"
_IMPORT = re.compile(r"^from postroom\.v1 import ", re.MULTILINE)


def generate(out_dir: Path) -> list[Path]:
    target = out_dir / "postroom" / "v1"
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "postroom" / "v1").glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for package_dir in (out_dir, out_dir / "postroom", target):
        (package_dir / "__init__.py").touch()
    written = sorted(target.glob("*.py*"))
    for path in written:
        path.write_text(_IMPORT.sub(f"from {PACKAGE}.postroom.v1 import ", path.read_text()))
    return written


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
