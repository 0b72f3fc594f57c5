#!/usr/bin/env python3
"""Generate sample_corpus/history/printing_press.pdf, the PDF in the demo corpus.

Provenance: every document in sample_corpus/ (the .txt, .md, .rst, .html files
and the text of this PDF) was written from scratch for the bertsearch project as
original encyclopedic prose; no text was copied from other sources. The corpus is
the demonstration data set for `bertsearch index sample_corpus/` and
`bertsearch ask ...`.

This is a development-only tool: fpdf2 is needed to run it but is not a runtime
dependency of bertsearch. The generated PDF is committed, so it only needs to be
re-run when the text below changes:

    python scripts/make_sample_pdf.py            # writes the default path
    python scripts/make_sample_pdf.py OUT.pdf    # writes elsewhere

The text is plain ASCII so that the core Helvetica font can render it and text
extraction (e.g. pypdf) recovers it exactly. The document has two pages, one
per section, and a fixed creation date so that re-running produces the same file.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent / "sample_corpus" / "history" / "printing_press.pdf"
)

TITLE = "Gutenberg and the Printing Press"

# One (heading, paragraphs) pair per page.
PAGES = [
    (
        "The invention of movable type in Europe",
        [
            "Johannes Gutenberg was a goldsmith and inventor from the German city of "
            "Mainz, born around 1400. Around 1440, while living in Strasbourg and later "
            "after returning to Mainz, he developed a system of printing with movable "
            "metal type that transformed the production of books in Europe.",
            "Gutenberg's system combined several inventions. A hand mould allowed "
            "individual letters to be cast quickly and in large numbers, each exactly "
            "the same height. The type was made of an alloy of lead, tin and antimony "
            "that melted at a low temperature, cast cleanly and hardened quickly. He "
            "used an oil-based ink that stuck to metal better than the water-based inks "
            "used for woodblocks, and a wooden screw press adapted from the presses used "
            "to make wine and olive oil.",
            "To pay for his work, Gutenberg borrowed money from the Mainz merchant "
            "Johann Fust. His most famous product, the Gutenberg Bible, also called the "
            "42-line Bible because most pages have 42 lines of text in each column, was "
            "completed in Mainz around 1455. About 180 copies were probably printed, some "
            "on paper and some on vellum, and 49 copies or substantial parts of copies "
            "survive today. In 1455 Fust sued Gutenberg for repayment of his loans and "
            "took over much of the workshop, which he ran with Peter Schoeffer, "
            "Gutenberg's former assistant. Gutenberg died in Mainz on 3 February 1468.",
            "Gutenberg was not the first to print with movable type. In China, Bi Sheng "
            "made movable type of baked clay around 1040, and in Korea the Buddhist text "
            "known as the Jikji was printed with metal type in 1377. Gutenberg's system, "
            "however, was especially well suited to alphabetic scripts with a small "
            "number of letters, and it spread rapidly.",
        ],
    ),
    (
        "The spread and impact of printing",
        [
            "Within a few decades printing presses were operating across Europe. By "
            "1500, presses had been set up in more than 270 towns and cities, and they "
            "had produced many millions of copies of books. Books printed in Europe "
            "before 1501 are known as incunabula. Venice became one of the leading "
            "centres of printing, where the scholar and printer Aldus Manutius published "
            "editions of Greek and Latin classics and introduced italic type in 1501.",
            "William Caxton, an English merchant who had learned printing on the "
            "Continent, set up the first printing press in England at Westminster in "
            "1476. Earlier, in Bruges, he had printed the first book in the English "
            "language, a collection of stories about Troy.",
            "Printing made books far cheaper and more plentiful than hand-copied "
            "manuscripts. It helped to standardise spelling and grammar, spread the ideas "
            "of the Renaissance, and made scientific results easier to share and check. "
            "It also played a major part in the Protestant Reformation: after Martin "
            "Luther wrote his Ninety-five Theses in 1517, printed copies of his writings "
            "spread through the German lands within weeks.",
            "The basic method of printing from movable type remained in use for more "
            "than four hundred years, until mechanical typesetting machines such as the "
            "Linotype, introduced in the 1880s, began to replace setting type by hand.",
        ],
    ),
]


def build(out: Path) -> None:
    pdf = FPDF(format="A4")
    pdf.set_title(TITLE)
    pdf.set_author("bertsearch sample corpus")
    pdf.set_creation_date(datetime(2024, 1, 1, tzinfo=timezone.utc))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(auto=True, margin=20)

    for page_no, (heading, paragraphs) in enumerate(PAGES):
        pdf.add_page()
        if page_no == 0:
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(0, 10, TITLE, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_font("Helvetica", "B", 14)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        pdf.set_font("Helvetica", "", 11)
        for para in paragraphs:
            assert para.isascii(), para
            pdf.multi_cell(0, 6, para, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)

    if pdf.pages_count != len(PAGES):
        raise SystemExit(f"expected {len(PAGES)} pages, got {pdf.pages_count}")
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    print(f"wrote {out} ({pdf.pages_count} pages)")


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
