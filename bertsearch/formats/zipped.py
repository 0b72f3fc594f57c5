"""Opening the zip archives that Office, OpenDocument and EPUB files are, without falling for zip bombs.

A zip member declares its uncompressed size; `open_zip` checks every
declared size, their total and each member's compression ratio before
anything is decompressed, and `read_member` reads no more than was declared
(zipfile stops there and checks the CRC), so a file that lies about its sizes
fails instead of filling memory. Refusals are `SkipFile`s that say why.
"""

import io
import zipfile
import zlib

from ..extract import SkipFile

MAX_UNZIPPED_BYTES = 200_000_000  # all members together, as declared
MAX_RATIO = 100  # uncompressed / compressed for one member (Apache POI's default); zip bombs are near 1000
RATIO_FROM_BYTES = 1_000_000  # smaller members may compress better than that: they cannot hurt


def open_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """The archive in `data`; SkipFile if it is not a zip (`kind` names what it should be) or looks like a bomb."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise SkipFile(f"not a valid {kind} file (not a zip archive, or a truncated one)") from None
    members = archive.infolist()
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise SkipFile(f"its contents unzip to {total / 1e6:.0f} MB, over the {MAX_UNZIPPED_BYTES / 1e6:.0f} MB "
                       "cap for zipped documents (a zip bomb?)")
    for member in members:
        if member.file_size > RATIO_FROM_BYTES and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise SkipFile(f"{member.filename} would unzip {member.file_size // max(member.compress_size, 1)} "
                           f"times its size, over the {MAX_RATIO}x cap (a zip bomb?)")
    return archive


def read_member(archive: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """A member's bytes; SkipFile if it is missing or damaged."""
    try:
        with archive.open(name) as member:
            return member.read(MAX_UNZIPPED_BYTES + 1)
    except KeyError:
        raise SkipFile(f"not a valid {kind} file ({name} is missing)") from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, zlib.error) as error:
        raise SkipFile(f"damaged {kind} file ({name}: {error})") from None
