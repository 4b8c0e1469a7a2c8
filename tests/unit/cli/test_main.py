"""The `postroom` command: every command is there, and `serve` loads none of the others' modules."""

import subprocess
import sys
import textwrap

from services.cli.main import build_parser


def test_every_command_module_adds_its_commands():
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "provider", "send", "dispatches", "suppression", "ses-sim", "status", "cluster", "token"} <= set(
        commands
    )


def test_serve_loads_no_other_command_module():
    code = """
        import sys
        from services.cli.main import main
        try:
            main(["serve", "--help"])
        except SystemExit:
            pass
        print(" ".join(sorted(m for m in sys.modules if m.startswith("services.cli."))))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.splitlines()[-1].split()) == {
        "services.cli.main",
        "services.cli.catalog",
        "services.cli.client",
    }
