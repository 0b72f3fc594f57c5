"""Typed errors. The CLI turns each into one line on stderr and a non-zero exit."""


class BertsearchError(Exception):
    """Base class of every error bertsearch raises on purpose."""


class IndexNotFoundError(BertsearchError):
    """There is no index at the given folder yet."""


class DocumentNotFoundError(BertsearchError):
    """No document with the given id or path is in the index."""


class SettingsMismatchError(BertsearchError):
    """The index was built with other settings than the ones asked for."""


class EncoderMismatchError(SettingsMismatchError):
    """The index was built with another encoder (model, pooling or dimension)."""


class InvalidSettingError(BertsearchError):
    """A setting (an environment variable, say) has a value bertsearch does not know."""


class ModelLoadError(BertsearchError):
    """A model could not be loaded from a hub id or a local folder."""


class NoReaderError(ModelLoadError):
    """No question-answering model is available for `ask`."""


class NothingToIndexError(BertsearchError):
    """The given paths hold no file that can be indexed."""


class InvalidQueryError(BertsearchError):
    """A query that cannot be searched (empty, say)."""


class IndexLockedError(BertsearchError):
    """Another process is writing to the index; the message names its pid."""


class CorruptIndexError(BertsearchError):
    """The index's SQLite database is damaged; it cannot be repaired, only rebuilt."""


class ServerBusyError(BertsearchError):
    """`bertsearch serve` has too many requests waiting; retry in a moment (HTTP 503 with Retry-After)."""


class PathNotAllowedError(BertsearchError):
    """A path given to the server lies outside the folder it may index (`serve --allow-index ROOT`)."""


class PassageNotFoundError(BertsearchError):
    """No passage with the given id is in the index."""


class InvalidDataError(BertsearchError):
    """A labelled data file that cannot be read; the message names the file, the row and the column."""


class ClassifierNotFoundError(BertsearchError):
    """No trained classifier in the given folder."""


class WatchError(BertsearchError):
    """A path cannot be watched (it is not a folder, say)."""


class RayUnavailableError(BertsearchError):
    """`--ray` asked for, but Ray (with Ray Data) is not installed: the message names the install command."""


class RayEncodingError(BertsearchError):
    """`--ray` could not reach its Ray cluster, or the encoding failed there (an actor could not load the
    model, say); what was committed before stays whole, and running again sends only what is missing."""
