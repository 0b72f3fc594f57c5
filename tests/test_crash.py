"""Fault injection: `kill -9` a writer at seeded random moments; the index must stay whole.

Each trial runs a real `bertsearch index` or `remove` in a child process,
kills it after a random delay, then checks that the index opens, checks clean,
holds exactly the same passage ids in FAISS and SQLite, and that every document
in it is whole (its passages from before the command or from after, never a
mix). Running the command again must finish the job: the same documents and
passages as a clean index, with no duplicates.
"""

import random
import shutil
import traceback
from collections import Counter

import pytest

import crashkit
from bertsearch import Index

SCENARIOS = ("index", "reindex", "remove")
STATES = ("had finished", "killed before committing anything", "killed part way through its commits",
          "killed after committing, before saving FAISS", "killed while exiting")
FILES = 40
CORPUS_SEED, EDIT_SEED = 1, 99
KILL_WINDOW = 0.02  # seconds after the chosen commit: a few more commits at most
SETTINGS = ("--passage-tokens", "48", "--overlap-tokens", "8")


def build(index_path, corpus, model, scenario):
    """Bring a folder to the state the scenario's command starts from: nothing, or an index of corpus A."""
    crashkit.write_corpus(corpus, FILES, CORPUS_SEED)
    if scenario != "index":
        with Index(index_path, model=model, passage_tokens=48, overlap_tokens=8) as index:
            index.add([corpus])
    if scenario == "reindex":
        crashkit.edit_corpus(corpus, EDIT_SEED)


def command(scenario, index_path, corpus, model):
    if scenario == "remove":
        return ["remove", corpus / "part1", "--index", index_path]
    return ["index", corpus, "--index", index_path, "--model", model, *SETTINGS, "-q"]


def finish(scenario, index_path, corpus, model):
    """Run the command through the library (to finish an interrupted one, or for the reference)."""
    with Index(index_path, model=model, passage_tokens=48, overlap_tokens=8) as index:
        if scenario == "remove":
            index.remove([corpus / "part1"])
        else:
            index.add([corpus])


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_bert):
    """For each scenario: the documents before and after its command, and the generations it goes between."""
    ref = {}
    for scenario in SCENARIOS:
        folder = tmp_path_factory.mktemp(f"reference-{scenario}")
        corpus, index_path = folder / "corpus", folder / "index"
        build(index_path, corpus, tiny_bert, scenario)
        before = crashkit.contents(index_path, corpus) if scenario != "index" else {}
        first = crashkit.generation_of(index_path)
        finish(scenario, index_path, corpus, tiny_bert)
        ref[scenario] = (before, crashkit.contents(index_path, corpus), first, crashkit.generation_of(index_path))
    return ref


def trial(seed, tmp_path, model, reference) -> str:
    """One kill and recovery; returns the state the kill left (see `state`)."""
    rng = random.Random(seed)
    scenario = SCENARIOS[seed % len(SCENARIOS)]
    before, after, first, last = reference[scenario]
    corpus, index_path = tmp_path / "corpus", tmp_path / "index"
    build(index_path, corpus, model, scenario)

    # Kill a random moment after a random commit: from before the first (loading the model) to after the last
    # (saving FAISS, exiting).
    writer = crashkit.start(*command(scenario, index_path, corpus, model))
    killed = crashkit.kill_at(writer, index_path, rng.randint(first, last), rng.uniform(0, KILL_WINDOW))
    found = {}
    if (index_path / "index.db").exists():
        crashkit.assert_sound(index_path)
        found = crashkit.contents(index_path, corpus)
        for path, passages in found.items():
            assert passages in (before.get(path), after.get(path)), f"{path} is half written"
    left = state(index_path, killed, found, before, after)

    finish(scenario, index_path, corpus, model)
    crashkit.assert_sound(index_path)
    assert crashkit.contents(index_path, corpus) == after
    return f"{scenario}: {left}"


def state(index_path, killed, found, before, after) -> str:
    """Where the kill caught the command, judged from what it left."""
    if not killed:
        return "had finished"
    if found == before:
        return "killed before committing anything"
    if found != after:
        return "killed part way through its commits"
    with Index(index_path) as index:
        report = index.check()
    return "killed after committing, before saving FAISS" if report.notes else "killed while exiting"


@pytest.mark.parametrize("seed", range(3))
def test_a_killed_writer_leaves_a_sound_index_that_the_next_run_completes(seed, tmp_path, tiny_bert, reference):
    scenario, left = trial(seed, tmp_path, tiny_bert, reference).split(": ")
    assert scenario == SCENARIOS[seed % len(SCENARIOS)]
    assert left in STATES  # and `trial` checked the index is sound and complete after the next run


@pytest.mark.slow
def test_thirty_kills(tmp_path, tiny_bert, reference):
    """The figures in docs/reliability.md: `python -m pytest -m slow -s tests/test_crash.py`."""
    states, failures = Counter(), []
    for seed in range(100, 130):
        folder = tmp_path / f"trial-{seed}"
        folder.mkdir()
        try:
            states[trial(seed, folder, tiny_bert, reference)] += 1
        except Exception:
            failures.append((seed, traceback.format_exc()))
        shutil.rmtree(folder, ignore_errors=True)
    commits = ", ".join(f"{s} {reference[s][3] - reference[s][2]}" for s in SCENARIOS)
    print(f"\nkill -9 trials: 30 run, {len(failures)} failures (commits per command: {commits})")
    for what, count in sorted(states.items()):
        print(f"  {count:3d}  {what}")
    assert not failures, failures[0][1]
