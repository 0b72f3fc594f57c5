"""`bertsearch index --ray`: encoding on a local Ray instance, started once for this module.

The Ray index must hold what the in-process index holds (same passages, vectors
equal within bf16's tolerance), send Ray only new and changed passages, and stay
whole when its writer is killed while the actors encode. Without Ray installed,
`--ray` is a one-line error naming the install command.
"""

import sys
import time
from pathlib import Path

import pytest

import crashkit
from bertsearch import Index, InvalidSettingError, RayEncoding, RayEncodingError, RayUnavailableError

FILES = 24
SETTINGS = dict(passage_tokens=48, overlap_tokens=8)
OPTIONS = ("--passage-tokens", "48", "--overlap-tokens", "8", "-q")


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance (2 CPUs) for the module: `--ray` joins it, in this process or another."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_bert, ray_instance):
    """A corpus indexed twice: in this process (the library), and by `bertsearch index --ray`."""
    from click.testing import CliRunner

    from bertsearch.cli import cli

    folder = tmp_path_factory.mktemp("ray")
    crashkit.write_corpus(folder / "docs", FILES, seed=5)
    with Index(folder / "local", model=tiny_bert, **SETTINGS) as index:
        index.add([folder / "docs"])
    result = CliRunner().invoke(cli, ["index", str(folder / "docs"), "--index", str(folder / "ray"), "--model",
                                      tiny_bert, *OPTIONS, "--ray", "--ray-actors", "1", "--ray-batch-size", "16"])
    assert result.exit_code == 0, result.output
    return folder, result.output


def passages_and_vectors(path):
    with Index(path) as index:
        passages = index.passages()
        return [(p.path, p.seq, p.text) for p in passages], index.store.vectors([p.id for p in passages])


def test_a_ray_index_holds_the_same_passages_and_vectors_as_an_in_process_one(built):
    folder, output = built
    local_passages, local_vectors = passages_and_vectors(folder / "local")
    ray_passages, ray_vectors = passages_and_vectors(folder / "ray")
    assert ray_passages == local_passages
    assert f"{FILES} new" in output and f"{len(ray_passages)} passages encoded" in output
    cosines = (local_vectors * ray_vectors).sum(axis=1)
    assert cosines.min() > 0.999  # bf16 on both sides, batched differently
    with Index(folder / "ray") as index:
        assert index.info().encoded_with.endswith("on ray")
        assert index.check().ok
        hits = index.search("tower by the river", mode="dense", k=3)
    with Index(folder / "local") as index:
        assert [h.text for h in index.search("tower by the river", mode="dense", k=3)] == [h.text for h in hits]


def test_a_second_ray_run_sends_only_what_changed(built):
    folder, _ = built
    encoding = RayEncoding(actors=1, batch_size=16)
    with Index(folder / "ray") as index:
        again = index.add([folder / "docs"], encoding=encoding)
    assert again.unchanged == FILES and encoding.calls == encoding.texts_sent == 0  # nothing went to Ray

    edited = folder / "docs" / "part0" / "doc000.txt"
    edited.write_text(edited.read_text() + "\nA new closing line about copper violins.\n")
    with Index(folder / "ray") as index:
        before = {p.text for p in index.passages()}
        changed = index.add([folder / "docs"], encoding=encoding)
        new_texts = {p.text for p in index.passages()} - before
    assert changed.updated == [str(edited)] and changed.unchanged == FILES - 1
    assert encoding.calls == 1 and encoding.texts_sent == changed.passages_encoded == len(new_texts) >= 1


def encoding_actors() -> set[str]:
    """The pids of `RayEncoding`'s Ray Data actors alive on this machine (Ray titles each process after its class)."""
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"_EncodeBatches" in cmdline.read_bytes():
                found.add(cmdline.parent.name)
        except OSError:
            pass
    return found


def test_a_writer_killed_while_ray_encodes_leaves_a_whole_index_the_next_run_completes(tmp_path, tiny_bert,
                                                                                       ray_instance):
    docs, index_path = tmp_path / "docs", tmp_path / "index"
    crashkit.write_corpus(docs, FILES, seed=6)
    with Index(index_path, model=tiny_bert, **SETTINGS) as index:
        index.add([docs])
    crashkit.edit_corpus(docs, seed=7)  # a quarter changed, an eighth gone, an eighth added
    before = crashkit.contents(index_path, docs)

    address = ray_instance.get_runtime_context().gcs_address  # HOST:PORT: this module's instance, no other
    earlier = encoding_actors()  # other tests' actors may still be exiting
    writer = crashkit.start("index", docs, "--index", index_path, *OPTIONS, "--ray", address, "--ray-actors", "1",
                            "--ray-batch-size", "4")
    deadline = time.monotonic() + 120
    while writer.poll() is None and not encoding_actors() - earlier and time.monotonic() < deadline:
        time.sleep(0.05)
    assert crashkit.kill_at(writer, index_path, generation=0, delay=0), "the run ended before Ray encoded"

    crashkit.assert_sound(index_path)
    assert crashkit.contents(index_path, docs) == before  # nothing is committed before the vectors are back
    with Index(index_path) as index:
        index.add([docs])
    with Index(tmp_path / "clean", model=tiny_bert, **SETTINGS) as clean:
        clean.add([docs])
    assert crashkit.contents(index_path, docs) == crashkit.contents(tmp_path / "clean", docs)


class ModelNotOnTheWorkers:
    """An encoder as the writer has it, naming a model folder the workers lack."""

    fingerprint = {"model": "/nowhere/model", "pooling": "mean", "dim": 32}
    backend, precision, dim = "torch", "fp32", 32


def test_a_model_the_workers_cannot_load_is_a_one_line_error(ray_instance):
    with pytest.raises(RayEncodingError) as failed:
        RayEncoding(actors=1).encode(ModelNotOnTheWorkers(), ["a passage"], progress=lambda n: None)
    assert str(failed.value).splitlines() == [
        "encoding on Ray failed: bertsearch.errors.ModelLoadError: no model folder at /nowhere/model: "
        "the path does not exist"]


def test_a_cluster_that_cannot_be_reached_is_a_one_line_error(monkeypatch):
    import ray

    def unreachable(**options):
        raise ConnectionError("Could not find any running Ray instance.\nPlease specify the one to connect to.")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", unreachable)
    with pytest.raises(RayEncodingError, match=r"^cannot reach Ray at auto: Please specify the one to connect to\.$"):
        RayEncoding("auto").encode(ModelNotOnTheWorkers(), ["a passage"], progress=lambda n: None)


def test_bad_settings_and_addresses_are_refused_before_anything_starts(run, corpus):
    with pytest.raises(InvalidSettingError, match="at least 1"):
        RayEncoding(actors=0)
    with pytest.raises(InvalidSettingError, match="put the paths to index before a bare --ray"):
        RayEncoding("docs/")
    refused = run("index", "--ray", corpus)  # the folder was taken for --ray's address
    assert refused.exit_code == 2 and "put the paths to index before a bare --ray" in refused.output


def test_without_ray_installed_the_error_is_one_line_naming_the_install_command(run, corpus, tiny_bert,
                                                                                  monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if Ray were not installed
    with Index(tmp_path / "library", model=tiny_bert) as index:
        with pytest.raises(RayUnavailableError, match=r"pip install 'bertsearch\[ray\]'"):
            index.add([corpus], encoding=RayEncoding())
    assert not (tmp_path / "library").exists()  # a first run that failed leaves nothing behind
    result = run("index", corpus, "--model", tiny_bert, "-q", "--ray")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --ray needs Ray (ray is not installed): pip install 'bertsearch[ray]'"]
