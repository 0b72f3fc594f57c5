"""The search modes, named once: the library, the CLI's `--mode` choices and eval all use these."""

from .errors import InvalidQueryError

MODES = ("hybrid", "dense", "bm25")
DEFAULT_MODE = "hybrid"
HELP = "hybrid: BM25 and vectors fused; dense: vectors only; bm25: words only."


def check_mode(mode: str) -> str:
    """`mode` itself, if it is one of MODES; else InvalidQueryError."""
    if mode not in MODES:
        raise InvalidQueryError(f"unknown search mode {mode!r}: use one of {', '.join(MODES)}")
    return mode
