"""A package loaded in parts: its `__init__` waits until a name only it makes is asked for, and
then runs once, as written; submodules and names given up front do not run it."""

import subprocess
import sys
import textwrap


def run_fresh(code: str, package_root) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{package_root}:{sys.path[0] or '.'}"},
        cwd=str(package_root.parent),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_package(root):
    package = root / "heavy"
    package.mkdir()
    (package / "__init__.py").write_text(
        "__version__ = '1.2'\nimport sys\nRUNS = getattr(sys, 'heavy_runs', 0) + 1\n"
        "sys.heavy_runs = RUNS\nfrom .light import Light\nfrom .costly import Costly\n"
    )
    (package / "light.py").write_text("from . import __version__\nclass Light:\n    version = __version__\n")
    (package / "costly.py").write_text("class Costly:\n    pass\n")
    return root


LOAD = """
import sys
from services.core.package_in_parts import load_in_parts
load_in_parts("heavy", preset={"__version__": "1.2"}, parts={"light": ("Light",)})
"""


def run_loaded_in_parts(code: str, tmp_path) -> str:
    """`code` run in a fresh interpreter after `heavy` was loaded in parts."""
    return run_fresh(LOAD + code, make_package(tmp_path))


def test_names_given_up_front_and_submodules_do_not_run_the_init(tmp_path):
    code = "from heavy import Light\nimport heavy.costly\nprint(Light.version, hasattr(sys, 'heavy_runs'))"
    assert run_loaded_in_parts(code, tmp_path) == "1.2 False"


def test_a_submodule_asked_for_as_an_attribute_loads_alone(tmp_path):
    code = "import heavy\nprint(heavy.costly.Costly.__name__, hasattr(sys, 'heavy_runs'))"
    assert run_loaded_in_parts(code, tmp_path) == "Costly False"


def test_a_name_only_the_init_makes_runs_it_once(tmp_path):
    code = "import heavy\nprint(heavy.RUNS, heavy.RUNS, sys.heavy_runs, heavy.Costly.__module__)"
    assert run_loaded_in_parts(code, tmp_path) == "1 1 1 heavy.costly"


def test_a_name_the_package_does_not_have_is_still_refused(tmp_path):
    code = """
try:
    from heavy import NoSuchThing
except ImportError as refused:
    print(type(refused).__name__, sys.heavy_runs)
"""
    assert run_loaded_in_parts(code, tmp_path) == "ImportError 1"


def test_a_package_already_loaded_is_left_as_it_is(tmp_path):
    root = make_package(tmp_path)
    printed = run_fresh(
        """
import sys, heavy
from services.core.package_in_parts import load_in_parts
load_in_parts("heavy", preset={"__version__": "9"})
print(sys.modules["heavy"] is heavy, heavy.__version__, sys.heavy_runs)
""",
        root,
    )
    assert printed == "True 1.2 1"
