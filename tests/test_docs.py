"""Every code block of the README and of docs/ runs, so no snippet can rot.

Each Markdown file runs in a fresh project folder (with ``../shared`` beside it, a link to the shared data, so
the docs' paths resolve) and its own store and journal (``SCOPE_STORE``, ``SCOPE_JOURNAL_DIR``). Its Python
blocks run in order in one namespace. Each line of its shell blocks runs: ``scope ...`` through typer's
CliRunner in this process (which holds the embedded store's lock, as the Python blocks do), anything else
through bash, except the lines whose first word ``NOT_RUN`` names. The provider classes the docs import are
offline fakes (``docs_fakes``). A block in any other language fails the test: every block must run.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scope_core.cli import app

from .conftest import DATA_DIR
from .docs_fakes import fake_providers

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
NOT_RUN = {  # first words of shell lines that install or start something outside the test
    "make": "installs the project (CI runs make around this test)",
    "pip": "installs packages from the network",
    "export": "sets real providers' API keys",
    "git": "clones the repository",
    "vllm": "starts a GPU model server (and downloads its weights)",
    "chroma": "starts a Chroma server that outlives the line",
}


def code_blocks(text: str) -> list[tuple[str, int, str]]:
    """(language, line number of the first code line, code) of each fenced block."""
    return [(m[1], text.count("\n", 0, m.start(2)) + 1, m[2]) for m in FENCE.finditer(text)]


def shell_lines(code: str) -> list[str]:
    """A shell block's commands: continuation lines joined, comments and blank lines dropped."""
    return [line for line in code.replace("\\\n", " ").splitlines() if shlex.split(line, comments=True)]


def run_shell(line: str) -> None:
    words = shlex.split(line, comments=True)
    if words[0] in NOT_RUN:
        return
    if words[0] == "scope":
        result = CliRunner().invoke(app, words[1:])
        assert result.exit_code == 0, f"`{line}` exited {result.exit_code}:\n{result.output}\n{result.exception!r}"
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"`{line}` exited {done.returncode}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder beside a link to the shared data, with its own store and journal."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"{DATA_DIR} not present")
    (tmp_path / "shared").symlink_to(DATA_DIR.parent)
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("SCOPE_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("SCOPE_JOURNAL_DIR", str(tmp_path / "journal"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with fake_providers():
        yield folder


@pytest.mark.data
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_block_runs(page: Path, project: Path) -> None:
    text = page.read_text()
    namespace: dict = {"__name__": "__docs__"}
    for language, line, code in code_blocks(text):
        if language == "python":
            exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
        elif language == "bash":
            for command in shell_lines(code):
                run_shell(command)
        else:
            pytest.fail(f"{page.name}:{line}: a ```{language}``` block cannot run; write it as python or bash")


def test_the_harness_sees_every_block() -> None:
    blocks = code_blocks("text\n```python\nx = 1\n```\n\n```bash\nscope stats  # a comment\nmake \\\n  demo\n```\n")
    assert blocks == [("python", 3, "x = 1\n"), ("bash", 7, "scope stats  # a comment\nmake \\\n  demo\n")]
    assert shell_lines(blocks[1][2]) == ["scope stats  # a comment", "make    demo"]


def test_the_readme_reads_in_ten_minutes() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("material", reason="the docs extra is not installed")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
