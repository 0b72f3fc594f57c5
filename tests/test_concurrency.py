"""One writer at a time; any number of readers, who never see an error or a half-made state."""

import os
import threading
import time

import pytest
from click.testing import CliRunner

import crashkit
from bertsearch import Index, IndexLockedError, IndexNotFoundError
from bertsearch.cli import cli
from bertsearch.lock import holder, writer_lock

K = 5


@pytest.fixture
def small_index(tmp_path, tiny_bert):
    corpus = tmp_path / "corpus"
    crashkit.write_corpus(corpus, 10, seed=1)
    with Index(tmp_path / "index", model=tiny_bert) as index:
        index.add([corpus])
    return tmp_path / "index", corpus


def test_a_second_writer_is_refused_naming_the_process_that_holds_the_index(small_index):
    index_path, corpus = small_index
    with writer_lock(index_path):
        with pytest.raises(IndexLockedError, match=f"process {os.getpid()}.*--wait"):
            Index(index_path).add([corpus])
        with pytest.raises(IndexLockedError):
            Index(index_path).remove([corpus / "part0"])
        assert len(Index(index_path).search("tower", k=K)) == K  # readers need no lock


def test_the_cli_says_so_in_one_line(small_index):
    index_path, corpus = small_index
    with writer_lock(index_path):
        result = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(index_path)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"being written by process {os.getpid()}" in result.stderr and "Traceback" not in result.output


def test_a_writer_given_a_timeout_waits_for_the_lock(small_index):
    index_path, corpus = small_index
    taken, release = threading.Event(), threading.Event()

    def hold():
        with writer_lock(index_path):
            taken.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    threading.Timer(0.5, release.set).start()
    began = time.monotonic()
    assert Index(index_path, lock_timeout=30).remove([corpus / "part0"])
    assert time.monotonic() - began >= 0.4
    thread.join()


def test_readers_keep_working_while_another_process_writes(small_index, tiny_bert):
    """Reader threads search (and check) in a loop while a `bertsearch index` process adds 60 files."""
    index_path, corpus = small_index
    crashkit.write_corpus(corpus / "more", 60, seed=2)
    writer = crashkit.start("index", corpus, "--index", index_path, "-q")
    served, checks, errors = [0], [0], []
    shared = Index(index_path)  # two threads share one Index; two more have their own

    def read(index):
        n = 0
        while writer.poll() is None:
            try:
                hits = index.search("a garden by the river", k=K)
                assert len(hits) == K and len({h.id for h in hits}) == K, hits
                if n % 10 == 0:
                    report = index.check()
                    assert report.ok, report.problems
                    checks[0] += 1
                served[0] += 1
            except Exception as error:  # counted, and shown if any
                errors.append(repr(error))
            n += 1

    readers = [threading.Thread(target=read, args=(index,))
               for index in (shared, shared, Index(index_path), Index(index_path))]
    for thread in readers:
        thread.start()
    while holder(index_path) != writer.pid and writer.poll() is None:
        time.sleep(0.05)
    with pytest.raises(IndexLockedError, match=f"process {writer.pid}"):
        Index(index_path).add([corpus])
    Index(index_path, lock_timeout=300).remove([corpus / "part0" / "doc000.txt"])  # waits its turn
    for thread in readers:
        thread.join()
    _, stderr = writer.communicate()
    assert writer.returncode == 0, stderr
    print(f"\nconcurrent reads: {served[0]} searches and {checks[0]} checks served during the write, "
          f"{len(errors)} errors")
    assert not errors, errors[:3]
    assert served[0] > 0
    crashkit.assert_sound(index_path)
    assert Index(index_path).info().documents == 69


def test_searching_an_index_that_has_nothing_yet_records_no_encoder(tmp_path, tiny_bert, corpus):
    """A writer killed before its first commit leaves an empty index: a search must not claim it for another model."""
    from bertsearch.store import Store

    Store(tmp_path / "index", create=True).close()
    with pytest.raises(IndexNotFoundError, match="nothing indexed yet"):
        Index(tmp_path / "index").search("anything")
    assert Index(tmp_path / "index", model=tiny_bert).add([corpus]).added


def test_a_reader_index_follows_what_another_index_writes(tmp_path, tiny_bert, corpus):
    """Nothing a reader keeps between searches (its FAISS index, that the index has an encoder) goes stale."""
    from bertsearch.store import Store

    Store(tmp_path / "index", create=True).close()
    reader = Index(tmp_path / "index")
    with pytest.raises(IndexNotFoundError, match="nothing indexed yet"):
        reader.search("anything")
    writer = Index(tmp_path / "index", model=tiny_bert)
    writer.add([corpus / "paris.txt"])
    assert {h.path for h in reader.search("tower", k=100)} == {str(corpus / "paris.txt")}
    writer.add([corpus / "bees.md"])
    everything = {str(corpus / "paris.txt"), str(corpus / "bees.md")}
    assert {h.path for h in reader.search("tower", k=100)} == everything
    assert {h.path for h in writer.search("tower", k=100)} == everything  # its own write, through its own store
    writer.remove([corpus / "paris.txt"])
    assert {h.path for h in reader.search("tower", k=100, mode="dense")} == {str(corpus / "bees.md")}
