"""E-mail messages (.eml), read with the standard library's `email` package.

The headers that say what a message is (Subject, From, To, Cc, Date), the
subject as its heading, then the body: text/plain when the message has it,
else its HTML's visible text. Attachments are named, not read.
"""

from email import policy
from email.parser import BytesParser
from pathlib import Path

from ..extract import Document, SkipFile
from .builder import TextBuilder
from .markup import html_with_headings

HEADERS = ("From", "To", "Cc", "Date")


def eml(path: Path, data: bytes) -> Document:
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        if not any(message[name] for name in ("Subject", *HEADERS)):
            raise SkipFile("not an e-mail message (no Subject, From, To or Date header)")
        text = TextBuilder()
        text.heading(str(message["Subject"] or "(no subject)"), 1)
        for name in HEADERS:
            if message[name]:
                text.paragraph(f"{name}: {message[name]}")
        _body(text, message)
        attachments = [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]
        if attachments:
            text.paragraph("Attachments: " + ", ".join(attachments))
    except SkipFile:
        raise
    except Exception as error:  # malformed headers or parts can fail in many ways
        raise SkipFile(f"could not read e-mail message ({type(error).__name__}: {' '.join(str(error).split())[:200]})") from None
    return text.document(path, "eml")


def _body(text: TextBuilder, message) -> None:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return
    content = body.get_content()
    if body.get_content_subtype() == "html":
        content, headings = html_with_headings(content)
        text.block(content, headings)
    else:
        text.paragraph(content.replace("\r\n", "\n"), tidy=False)
