"""`bertsearch index --ray`: encoding on a local Ray instance, started once for this module.

The Ray index must hold what the in-process index holds (same passages, vectors
equal within bf16's tolerance), send Ray only new and changed passages, and stay
whole when its writer is killed mid-run. Without Ray installed, `--ray` is a
one-line error naming the install command.
"""

import sys

import pytest

import crashkit
from bertsearch import Index, InvalidSettingError, RayEncoding, RayUnavailableError

FILES = 24
SETTINGS = dict(passage_tokens=48, overlap_tokens=8)


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance (2 CPUs) for the module; RayEncoding joins it and leaves it running."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_bert, ray_instance):
    """A corpus indexed twice: in this process, and through Ray (one actor, small batches)."""
    folder = tmp_path_factory.mktemp("ray")
    crashkit.write_corpus(folder / "docs", FILES, seed=5)
    with Index(folder / "local", model=tiny_bert, **SETTINGS) as index:
        index.add([folder / "docs"])
    encoding = RayEncoding(actors=1, batch_size=16)
    with Index(folder / "ray", model=tiny_bert, **SETTINGS) as index:
        report = index.add([folder / "docs"], encoding=encoding)
    return folder, encoding, report


def passages_and_vectors(path):
    with Index(path) as index:
        passages = index.passages()
        return [(p.path, p.seq, p.text) for p in passages], index.store.vectors([p.id for p in passages])


def test_a_ray_index_holds_the_same_passages_and_vectors_as_an_in_process_one(built):
    folder, encoding, report = built
    local_passages, local_vectors = passages_and_vectors(folder / "local")
    ray_passages, ray_vectors = passages_and_vectors(folder / "ray")
    assert ray_passages == local_passages
    assert report.passages_encoded == len(ray_passages) == encoding.texts_sent
    cosines = (local_vectors * ray_vectors).sum(axis=1)
    assert cosines.min() > 0.999  # bf16 on both sides, batched differently
    with Index(folder / "ray") as index:
        assert index.info().encoded_with.endswith("on ray")
        assert index.check().ok
        hits = index.search("tower by the river", mode="dense", k=3)
    with Index(folder / "local") as index:
        assert [h.text for h in index.search("tower by the river", mode="dense", k=3)] == [h.text for h in hits]


def test_a_second_ray_run_sends_only_what_changed(built):
    folder, encoding, _ = built
    sent, calls = encoding.texts_sent, encoding.calls
    with Index(folder / "ray") as index:
        again = index.add([folder / "docs"], encoding=encoding)
    assert again.unchanged == FILES and encoding.calls == calls  # nothing went to Ray

    edited = folder / "docs" / "part0" / "doc000.txt"
    edited.write_text(edited.read_text() + "\nA new closing line about copper violins.\n")
    with Index(folder / "ray") as index:
        before = {p.text for p in index.passages()}
        changed = index.add([folder / "docs"], encoding=encoding)
        new_texts = {p.text for p in index.passages()} - before
    assert changed.updated == [str(edited)] and changed.unchanged == FILES - 1
    assert encoding.texts_sent - sent == changed.passages_encoded == len(new_texts) >= 1
    assert encoding.calls == calls + 1


def test_bad_settings_and_addresses_are_refused_before_anything_starts():
    with pytest.raises(InvalidSettingError, match="at least 1"):
        RayEncoding(actors=0)
    with pytest.raises(InvalidSettingError, match="put the paths to index before a bare --ray"):
        RayEncoding("docs/")


def test_without_ray_installed_the_error_names_the_install_command(tmp_path, tiny_bert, monkeypatch, corpus):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if it were not installed
    with Index(tmp_path / "index", model=tiny_bert) as index:
        with pytest.raises(RayUnavailableError, match=r"pip install 'bertsearch\[ray\]'"):
            index.add([corpus], encoding=RayEncoding())
    assert not (tmp_path / "index").exists()  # a first run that failed leaves nothing behind
