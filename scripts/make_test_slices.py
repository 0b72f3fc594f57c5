"""Cut the small data slices under tests/data/ from the full data sets in ../shared/data/.

    python scripts/make_test_slices.py
"""

import json
from pathlib import Path

REPO = Path(__file__).parent.parent
SHARED = REPO.parent / "shared" / "data"
TESTS_DATA = REPO / "tests" / "data"


def squad_slice(articles: int = 4, questions_per_paragraph: int = 2) -> None:
    squad = json.loads((SHARED / "squad" / "dev-v1.1.json").read_text())
    kept = squad["data"][:articles]
    for article in kept:
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = paragraph["qas"][:questions_per_paragraph]
    out = TESTS_DATA / "squad-dev-v1.1-slice.json"
    out.write_text(json.dumps({"version": squad["version"], "data": kept}, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    squad_slice()
