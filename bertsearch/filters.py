"""Which documents a search may return: a path glob, file extensions, a modification-time range.

A `Filters` value is plain data; `Store` turns it into one SQL condition on
the documents, applied before the vector search (as an id selector) and inside
the BM25 query, never afterwards: `k` results come back whenever `k` passages match.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from .errors import InvalidQueryError


@dataclass(frozen=True)
class Filters:
    """`path`: a glob on the document's path (`*` also crosses `/`; a relative glob is taken
    from the working folder). `ext`: extensions, with or without the dot, any case.
    `after`/`before`: modified at or after / strictly before (a date means its midnight, local time)."""

    path: str | None = None
    ext: tuple[str, ...] = field(default_factory=tuple)
    after: datetime | date | str | None = None
    before: datetime | date | str | None = None

    def __bool__(self) -> bool:
        return bool(self.path or self.ext or self.after is not None or self.before is not None)

    def path_glob(self) -> str | None:
        """The path glob, made absolute (from the working folder) and with `~` expanded."""
        return _absolute_glob(self.path) if self.path else None

    def extensions(self) -> list[str]:
        """The extensions, lower-case, each with its dot."""
        return ["." + e.lower().lstrip(".") for e in self.ext]

    def mtime_range(self) -> tuple[int | None, int | None]:
        """`after` and `before` in nanoseconds since the epoch (None where not given)."""
        return (None if self.after is None else _nanoseconds(self.after, "after"),
                None if self.before is None else _nanoseconds(self.before, "before"))


def _absolute_glob(pattern: str) -> str:
    pattern = str(Path(pattern).expanduser()) if pattern.startswith("~") else pattern
    return pattern if Path(pattern).is_absolute() else str(Path.cwd() / pattern)


def _nanoseconds(moment, name: str) -> int:
    """Nanoseconds since the epoch of a datetime, a date or an ISO-8601 string (naive means local time)."""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            raise InvalidQueryError(f"--{name} takes a date such as 2024-05-31 or 2024-05-31T14:00, not {moment!r}") from None
    if isinstance(moment, date) and not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return int(moment.timestamp() * 1_000_000_000)
