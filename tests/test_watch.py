"""`Index.watch` / `bertsearch watch`: the index follows a folder's creations, edits, renames and deletions.

Every wait polls with a deadline: a slow, shared machine makes a test slower, never wrong.
Tiny random models: words are checked with BM25 search, which does not depend on the model.
"""

import os
import random
import threading
import time

import pytest

import crashkit
from bertsearch import Index, WatchError

DEADLINE = 120  # seconds; reached only if the watcher is broken


def wait_for(condition, what: str):
    """Poll `condition` until it is true; fail after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def paths_with(index, word: str) -> set[str]:
    """Names of the files whose passages contain `word` (BM25 search)."""
    return {os.path.basename(hit.path) for hit in index.search(word, k=50, mode="bm25")}


@pytest.fixture
def watched(tmp_path, corpus, tiny_bert):
    """A watcher over `corpus`, with the updates it reports and the lines it notifies."""
    index = Index(tmp_path / "index", model=tiny_bert)
    updates, notices = [], []
    watcher = index.watch([corpus], on_update=updates.append, notify=notices.append, debounce=0.2)
    yield index, watcher, updates, notices
    watcher.stop()
    index.close()


def test_start_catches_up_with_the_folder(watched):
    index, _, updates, _ = watched
    assert updates[0].catch_up and sorted(map(os.path.basename, updates[0].added)) == ["bees.md", "moon.html", "paris.txt"]
    assert paths_with(index, "Eiffel") == {"paris.txt"}


def test_creations_edits_renames_and_deletions_are_followed(watched, corpus):
    index, *_ = watched
    (corpus / "new.txt").write_text("Zanzibar lies off the coast of Tanzania.\n")
    wait_for(lambda: paths_with(index, "Zanzibar") == {"new.txt"}, "a new file")

    (corpus / "new.txt").write_text("Madagascar lies off the coast of Mozambique.\n")
    wait_for(lambda: paths_with(index, "Madagascar") == {"new.txt"}, "an edit")
    assert paths_with(index, "Zanzibar") == set()

    (corpus / "new.txt").rename(corpus / "sub" / "renamed.txt")
    wait_for(lambda: paths_with(index, "Madagascar") == {"renamed.txt"}, "a rename")

    (corpus / "sub" / "renamed.txt").unlink()
    wait_for(lambda: paths_with(index, "Madagascar") == set(), "a deletion")
    (corpus / "sub").rename(corpus / "moved")
    wait_for(lambda: {os.path.dirname(hit.path) for hit in index.search("Apollo", mode="bm25")}
             == {str((corpus / "moved").resolve())}, "a folder's rename")
    assert sorted(os.path.relpath(d.path, corpus.resolve()) for d in index.documents()) == [
        "bees.md", os.path.join("moved", "moon.html"), "paris.txt"]


def test_an_editors_save_is_one_update_and_its_leftovers_are_ignored(watched, corpus):
    """vim-style: write a backup and a swap file, write the new text to a temporary file,
    rename it over the original, delete the backup."""
    index, _, updates, _ = watched
    target = corpus / "paris.txt"
    (corpus / "paris.txt~").write_text(target.read_text() + "Backupword.\n")
    (corpus / ".paris.txt.swp").write_text("Swapword.\n")
    temporary = corpus / "paris.txt.tmp"
    temporary.write_text("The Eiffel Tower is 330 metres tall. Savedword.\n")
    os.replace(temporary, target)
    (corpus / "paris.txt~").unlink()
    wait_for(lambda: len(updates) == 2, "the save's update")

    (corpus / "sentinel.txt").write_text("Sentinelword.\n")  # any second update of the save would come before this one
    wait_for(lambda: len(updates) >= 3, "the sentinel's update")
    save, sentinel = updates[1:]
    assert [os.path.basename(p) for p in save.updated] == ["paris.txt"] and not save.added and not save.removed
    assert [os.path.basename(p) for p in sentinel.added] == ["sentinel.txt"]
    assert paths_with(index, "Savedword") == {"paris.txt"}
    assert paths_with(index, "Backupword") == paths_with(index, "Swapword") == set()


def test_a_bad_file_is_skipped_with_a_notice_and_watching_goes_on(watched, corpus):
    index, _, updates, notices = watched
    (corpus / "blob.txt").write_bytes(b"\x00\x01binary")
    wait_for(lambda: any("blob.txt" in line for line in notices), "the notice")
    assert "binary file" in next(line for line in notices if "blob.txt" in line)
    (corpus / "after.txt").write_text("Quokkas live on Rottnest Island.\n")
    wait_for(lambda: paths_with(index, "Quokkas") == {"after.txt"}, "the next file")
    assert paths_with(index, "binary") == set()


def test_a_file_that_turns_bad_leaves_the_index_as_index_would(watched, corpus):
    index, *_ = watched
    (corpus / "bees.md").write_bytes(b"\x00 now binary")
    wait_for(lambda: paths_with(index, "Honeybees") == set(), "the bad file's removal")


def test_the_writer_lock_is_free_between_updates(watched, tmp_path):
    """Another writer (`bertsearch index` from another shell) gets the lock at once while the watcher is idle."""
    index, *_ = watched
    other = tmp_path / "other"
    other.mkdir()
    (other / "ferry.txt").write_text("The ferry to Rottnest leaves at nine.\n")
    with Index(index.path, lock_timeout=0) as second_writer:
        assert second_writer.add([other]).added
    assert paths_with(index, "ferry") == {"ferry.txt"}


def test_only_folders_can_be_watched(tmp_path, corpus):
    with pytest.raises(WatchError, match="give folders"):
        Index(tmp_path / "index").watch([corpus / "paris.txt"])


def test_a_kill_during_an_update_leaves_a_whole_index_and_the_next_start_finishes(tmp_path, tiny_bert):
    """`kill -9` a `bertsearch watch` process while it indexes a burst of edits, at seeded moments."""
    corpus, index_path = tmp_path / "corpus", tmp_path / "index"
    crashkit.write_corpus(corpus, 30, seed=3)
    with Index(index_path, model=tiny_bert, passage_tokens=48, overlap_tokens=8) as index:
        index.add([corpus])
    rng = random.Random(14)
    for trial in range(2):
        process = crashkit.start("watch", corpus, "--index", index_path, "--debounce", "0")
        lines = _stderr_lines(process)
        wait_for(lambda: any("Watching" in line for line in lines), "the watcher to start")
        before = crashkit.generation_of(index_path)
        crashkit.edit_corpus(corpus, seed=100 + trial)
        assert crashkit.kill_at(process, index_path, before + 1, rng.uniform(0, 0.3)), "the watcher exited by itself"
        crashkit.assert_sound(index_path)
    with Index(index_path) as index:  # the next start catches up ...
        index.watch([corpus]).stop()
    with Index(tmp_path / "fresh", model=tiny_bert, passage_tokens=48, overlap_tokens=8) as fresh:
        fresh.add([corpus])
    # ... to what a fresh `bertsearch index` of the folder gives
    assert crashkit.contents(index_path, corpus) == crashkit.contents(tmp_path / "fresh", corpus)


def _stderr_lines(process) -> list[str]:
    """The child's stderr lines, collected by a thread as they come."""
    lines = []

    def read():
        try:
            for line in process.stderr:
                lines.append(line)
        except (ValueError, OSError):  # closed once the child is killed
            pass

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_a_file_name_that_is_not_utf8_is_skipped_with_a_notice(watched, corpus):
    index, _, _, notices = watched
    os.close(os.open(os.path.join(os.fsencode(corpus), b"caf\xe9.txt"), os.O_CREAT | os.O_WRONLY))
    wait_for(lambda: any("not valid UTF-8" in line for line in notices), "the notice")
    (corpus / "after.txt").write_text("Wombats dig burrows.\n")
    wait_for(lambda: paths_with(index, "Wombats") == {"after.txt"}, "the next file")
    assert not any(line.startswith("update failed") for line in notices)
