"""The README's examples, run as written on the sample corpus, give the output the README shows.

Every ```console block is a session: each `$ ` line is run, in order, across
blocks, in a temporary folder holding a copy of `sample_corpus/` (and the
SQuAD slice the eval example reads), and what it prints is compared with the
lines under it. So that honest differences do not fail the test:
- numbers with decimals agree to two decimals (within 0.01: bf16 arithmetic can move
  the last digit), and times (`7.5 s`) are not compared;
- an absolute path up to `sample_corpus/` or `.bertsearch` stands for the working folder;
- a line `...` stands for any number of lines, and `...` inside a line for any text.
`bertsearch` commands run in this process (through click's CliRunner), the
others (`echo ... >> file`) through bash. Every ```python block runs too, each
in a fresh folder, and must not raise.
"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bertsearch.cli import cli

REPO = Path(__file__).parent.parent
README = REPO / "README.md"
COPIED = ["sample_corpus", "tests/data/squad-dev-v1.1-slice.json"]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
ABSOLUTE = re.compile(r"(?:/[^\s\"':]+)*/(sample_corpus|\.bertsearch)")
NUMBER = re.compile(r"-?\d+\.\d+")
SECONDS = re.compile(r"\b\d+(?:\.\d+)? s\b")


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == language]


def sessions() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every `$ ` line of the console blocks, in order."""
    steps = []
    for body in blocks("console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def normalised(line: str) -> str:
    return SECONDS.sub("<t> s", ABSOLUTE.sub(r"<here>/\1", line.rstrip()))


def line_matches(expected: str, actual: str) -> bool:
    pattern, numbers = "", []
    for i, part in enumerate(NUMBER.split(normalised(expected))):
        if i:
            pattern += r"(-?\d+\.\d+)"
        pattern += ".*?".join(re.escape(piece) for piece in part.split("..."))
    numbers = [float(n) for n in NUMBER.findall(normalised(expected))]
    found = re.fullmatch(pattern, normalised(actual))
    return found is not None and all(abs(float(got) - want) <= 0.0101 for got, want in zip(found.groups(), numbers))


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line; a `...` line matches any run of lines, `...` inside a line any text."""
    if not expected:
        return not actual
    head, *rest = expected
    if head.strip() == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    return line_matches(head, actual[0]) and matches(rest, actual[1:])


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in COPIED:
        source, target = REPO / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    monkeypatch.chdir(tmp_path)
    for variable in ("BERTSEARCH_INDEX", "BERTSEARCH_READER", "BERTSEARCH_WAIT"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def run(command: str) -> list[str]:
    if command.startswith("bertsearch "):
        result = CliRunner().invoke(cli, shlex.split(command)[1:], catch_exceptions=False)
        assert result.exit_code == 0, f"{command}\n{result.output}"
        return result.stdout.splitlines()
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, f"{command}\n{done.stderr}"
    return done.stdout.splitlines()


def test_the_readme_has_console_examples():
    commands = [command for command, _ in sessions()]
    assert len(commands) >= 8 and commands[0] == "bertsearch index sample_corpus/"


def test_every_console_example_prints_what_the_readme_shows(workdir):
    for command, expected in sessions():
        actual = run(command)
        # Trailing blank lines are layout, not output.
        while expected and not expected[-1].strip():
            expected.pop()
        while actual and not actual[-1].strip():
            actual.pop()
        assert matches(expected, actual), (
            f"$ {command}\n--- README shows:\n" + "\n".join(expected) + "\n--- it printed:\n" + "\n".join(actual)
        )


@pytest.mark.parametrize("number", range(len(blocks("python"))))
def test_every_python_example_runs(number, workdir):
    code = blocks("python")[number]
    exec(compile(code, f"README.md python block {number + 1}", "exec"), {"__name__": "readme"})
