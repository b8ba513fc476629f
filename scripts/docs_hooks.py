"""MkDocs hook: the benchmark reports (``benchmarks/*.md`` and their plots) join the site as they are, under
``benchmarks/``, so the docs link them without copies."""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

REPORTS = Path(__file__).resolve().parents[1] / "benchmarks"


def on_files(files: Files, config) -> Files:
    for path in sorted(REPORTS.rglob("*")):
        if path.suffix in (".md", ".png"):
            uri = f"benchmarks/{path.relative_to(REPORTS).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files
