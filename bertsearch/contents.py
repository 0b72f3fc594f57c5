"""Reading what an index holds, without SQL: counts and settings, documents, passages, a document's text.

`Contents` is the reading half of `Index`'s front door, a mixin over its open
`store` and its `path`: every method is one `Store` query and the checks on
its arguments. Users and benchmarks read an index through these, as
sqlite-utils' `table.rows`, never through `Store.db`.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import chunking
from .errors import DocumentNotFoundError, InvalidQueryError
from .filters import Filters
from .ingest import printable
from .results import DocumentInfo, IndexInfo, Passage

if TYPE_CHECKING:
    from .store import Store


class Contents:
    """`info`, `documents`, `document`, `passages` and `document_text` of `Index`."""

    path: Path
    store: "Store"

    def info(self) -> IndexInfo:
        """Counts, encoder, passage settings, size and generation of the index."""
        store = self.store
        encoder, chunks, counts = store.meta("encoder") or {}, store.meta("chunking") or {}, store.counts()
        return IndexInfo(
            index=str(self.path.resolve()), documents=counts["documents"], passages=counts["passages"],
            model=encoder.get("model"), pooling=encoder.get("pooling"), dim=encoder.get("dim"),
            passage_tokens=chunks.get("passage_tokens"), overlap_tokens=chunks.get("overlap_tokens"),
            size_bytes=store.size_on_disk(), generation=store.generation,
            labels=store.label_counts() if store.meta("labeller") else None,
            encoded_with=", ".join(store.meta("encoded_with") or []) or None,
        )

    def documents(self, *, path: str | None = None, limit: int | None = None, offset: int = 0) -> list[DocumentInfo]:
        """The indexed documents, by path; `path` is a glob as in `search`; `limit`/`offset` page through them."""
        if (limit is not None and limit < 0) or offset < 0:
            raise InvalidQueryError("limit and offset must be at least 0")
        return self.store.document_list(Filters(path), limit=limit, offset=offset)

    def document(self, id_or_path: int | str | Path) -> DocumentInfo:
        """One document, by id or path (as indexed, or relative to the working folder)."""
        if isinstance(id_or_path, bool) or not isinstance(id_or_path, (int, str, Path)):
            raise InvalidQueryError(f"give a document id or path, not {id_or_path!r}")
        store = self.store
        found = store.document_info(id_or_path if isinstance(id_or_path, int) else str(id_or_path))
        if found is None and not isinstance(id_or_path, int):
            found = store.document_info(str(Path(id_or_path).expanduser().resolve()))
        if found is None:
            raise DocumentNotFoundError(f"no document {printable(id_or_path)} in the index at {self.path}")
        return found

    def passages(self, *, path: str | None = None, document_id: int | None = None,
                 ids: Sequence[int] | None = None) -> list[Passage]:
        """Stored passages, by path then position; `path` is a glob as in `search`, `document_id`
        one document's, `ids` these passage ids (the `id` of a SearchResult)."""
        return self.store.passage_list(Filters(path), document_id=document_id, ids=None if ids is None else list(ids))

    def document_text(self, id_or_path: int | str | Path) -> str:
        """The document's text as indexed, rebuilt from its passages at their character offsets.

        Text between passages (blank lines, say) is not stored: it comes back as the
        line breaks that keep every passage on its line, padded with spaces.
        """
        return chunking.join_passages(self.store.passage_list(document_id=self.document(id_or_path).id))
