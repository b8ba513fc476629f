"""The store's local files are its owner's alone: folders 0700, files 0600 (journals, locks, snapshots, an embedded
store's database); a damaged file is moved aside under a name that says so, never deleted."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """``path`` as an owner-only folder (made with its missing parents, which are owner-only too)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for folder in (path, *missing):
        with contextlib.suppress(OSError):
            os.chmod(folder, DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Make an existing file owner-only (missing: nothing to do)."""
    with contextlib.suppress(FileNotFoundError):
        os.chmod(path, FILE_MODE)


def secure_tree(folder: Path) -> None:
    """Make ``folder`` and everything in it owner-only (an embedded store: Chroma creates its files 0644)."""
    with contextlib.suppress(OSError):
        os.chmod(folder, DIR_MODE)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), DIR_MODE)
        for name in files:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, name), FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` at once (a reader sees the old file or the new one), owner-only."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def set_aside(path: Path, *companions: str) -> Path:
    """Move a damaged ``path`` (and its ``companions``: suffixes such as ``-wal``) to ``<name>.damaged-<time>``
    beside it; returns where it went."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("", *companions):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, f"{target}{suffix}")
    return target
