from email.message import EmailMessage

from services.ses_sim.attachments import message_parts, part_content


def invoice() -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@customer.test", "Invoice"
    message.set_content("text body")
    message.add_alternative("<img src='cid:logo'>", subtype="html")
    message.get_payload()[1].add_related(b"PNG", "image", "png", cid="<logo>")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="Ünïcode naïve.pdf")
    message.add_attachment(b"a,b\n", maintype="text", subtype="csv", disposition="attachment")
    return message.as_bytes()


def test_bodies_are_not_listed_but_inline_parts_and_attachments_are():
    assert b"filename*=utf-8''" in invoice()  # the name travels RFC 2231-encoded
    parts = message_parts(invoice())
    assert [(p.index, p.filename, p.media_type, p.size, p.content_id) for p in parts] == [
        (0, None, "image/png", 3, "logo"),
        (1, "Ünïcode naïve.pdf", "application/pdf", 8, None),
        (2, None, "text/csv", 4, None),
    ]


def test_a_part_comes_back_decoded():
    described, content = part_content(invoice(), 1)
    assert (described.filename, content) == ("Ünïcode naïve.pdf", b"%PDF-1.4")
    assert part_content(invoice(), 3) is None and part_content(invoice(), -1) is None


def test_a_plain_message_has_no_parts_and_garbage_does_not_fail():
    assert message_parts(b"From: a@b.test\r\n\r\nhello") == []
    assert message_parts(b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n") == []
