"""`postroom send --attach FILE` (repeatable) as a process, through a dispatch service to a real SMTP server."""

from __future__ import annotations

import os

from tests.integration.dispatch.dispatch_support import PROVIDER, save_provider, wait_until
from tests.support.service_process import run_cli


async def test_send_attaches_each_file_it_is_given(service, store, dispatch_settings, sink, tmp_path):
    await save_provider(store, dispatch_settings, sink)
    pdf, notes = tmp_path / "Angebot Größe M.pdf", tmp_path / "notes.txt"
    pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(5 * 1024 * 1024))  # over gRPC's 4 MB message: uploaded
    notes.write_bytes("naïve notes\n".encode())
    await run_cli(
        dispatch_settings,
        "send",
        "--account",
        "acme",
        "--provider",
        PROVIDER,
        "--to",
        "bob@example.org",
        "--subject",
        "Your offer",
        "--text",
        "Attached.",
        "--attach",
        str(pdf),
        "--attach",
        str(notes),
        "--wait",
    )
    assert await wait_until(lambda: len(sink.received) == 1)
    parts = {p.get_filename(): p for p in sink.received[0].parsed().walk() if p.get_filename()}
    assert parts[pdf.name].get_payload(decode=True) == pdf.read_bytes()
    assert parts[pdf.name].get_content_type() == "application/pdf"
    assert parts["notes.txt"].get_payload(decode=True) == notes.read_bytes()
