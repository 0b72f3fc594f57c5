"""Small PDFs written by hand for the tests: pages of text lines (Helvetica), or pages that are only an image.

    write_pdf(path, [["First line", "second line"], IMAGE_ONLY, []])

A page is a list of lines, drawn top down; IMAGE_ONLY is a page with a 2x2
grey image and no text operators (what a scanner makes); [] is a blank page.
`encrypt(path, password)` rewrites a PDF encrypted with pypdf.
"""

from pathlib import Path

IMAGE_ONLY = None


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(page: list[str] | None) -> bytes:
    if page is IMAGE_ONLY:
        return b"q 200 0 0 200 72 500 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\x80\x80\xff EI Q"
    lines = " ".join(f"({_escape(line)}) Tj 0 -14 Td" for line in page)
    return f"BT /F1 11 Tf 72 760 Td {lines} ET".encode("latin-1")


def pdf_bytes(pages: list[list[str] | None]) -> bytes:
    """A valid PDF 1.4 file whose pages hold these lines (see the module's docstring)."""
    count = len(pages)
    kids = " ".join(f"{4 + 2 * n} 0 R" for n in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for n, page in enumerate(pages):
        stream = _content(page)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * n} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def write_pdf(path: Path, pages: list[list[str] | None]) -> Path:
    path.write_bytes(pdf_bytes(pages))
    return path


def encrypt(path: Path, password: str) -> Path:
    """Rewrite the PDF at `path` encrypted (AES-128) with `password` as its user password."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(path))
    writer.encrypt(password, algorithm="AES-128")
    with open(path, "wb") as file:
        writer.write(file)
    return path
