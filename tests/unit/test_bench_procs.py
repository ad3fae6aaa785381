"""The benchmark's process helpers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench.procs import compile_sources


def test_sources_are_compiled_even_when_python_writes_no_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    module = tmp_path / "pkg" / "sub" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("X = 1\n")

    compile_sources(tmp_path, ["pkg"])

    assert Path(importlib.util.cache_from_source(str(module))).is_file()
