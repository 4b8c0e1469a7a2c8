"""The committed gRPC stubs must be what `make protos` generates from protos/ today."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "services" / "core" / "generated" / "postroom" / "v1"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "protos" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_are_not_stale(tmp_path):
    written = load_generator().generate(tmp_path)
    fresh = {p.name: p.read_text() for p in written}
    committed = {p.name: p.read_text() for p in COMMITTED.glob("*.py*") if p.name != "__init__.py"}
    fresh.pop("__init__.py", None)
    stale = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    assert not stale, f"stale generated stubs (run `make protos`): {stale}"
