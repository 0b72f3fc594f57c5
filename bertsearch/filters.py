"""Which documents a search may return: a path glob, file extensions, a modification-time range, a label.

Filters become one SQL condition on `documents` (alias d), applied before the
vector search (as an id selector) and inside the BM25 query, never afterwards:
`k` results come back whenever `k` passages match.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from .errors import InvalidQueryError


@dataclass(frozen=True)
class Filters:
    """`path`: a glob on the document's path (`*` also crosses `/`; a relative glob is taken
    from the working folder). `ext`: extensions, with or without the dot, any case.
    `after`/`before`: modified at or after / strictly before (a date means its midnight, local time).
    `label`: documents `bertsearch classify label` gave this label."""

    path: str | None = None
    ext: tuple[str, ...] = field(default_factory=tuple)
    after: datetime | date | str | None = None
    before: datetime | date | str | None = None
    label: str | None = None

    def __bool__(self) -> bool:
        return bool(self.path or self.ext or self.after is not None or self.before is not None or self.label)

    def sql(self) -> tuple[str, list]:
        """An SQL condition on `documents` (alias d) and its parameters; ("", []) when nothing is filtered."""
        conditions, params = [], []
        if self.path:
            conditions.append("d.path glob ?")
            params.append(_absolute_glob(self.path))
        if self.ext:
            extensions = ["." + e.lower().lstrip(".") for e in self.ext]
            conditions.append("(" + " or ".join(["lower(d.path) like ? escape '\\'"] * len(extensions)) + ")")
            params += ["%" + e.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") for e in extensions]
        if self.after is not None:
            conditions.append("d.mtime_ns >= ?")
            params.append(_nanoseconds(self.after, "after"))
        if self.before is not None:
            conditions.append("d.mtime_ns < ?")
            params.append(_nanoseconds(self.before, "before"))
        if self.label:
            conditions.append("d.id in (select document_id from document_labels where label = ?)")
            params.append(self.label)
        return " and ".join(conditions), params


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
