"""Dependencies point one way: api -> streams and consumers -> streams, never back.

streams/ imports neither the web framework nor the application packages. uvicorn may be
imported only inside a function of streams/commands/api.py (the `streams api` command).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STREAMS = Path(__file__).resolve().parents[2] / "streams"
FORBIDDEN = frozenset({"litestar", "api", "consumers"})
LAZY_ONLY = {"uvicorn": "commands/api.py"}


def imports(tree: ast.AST) -> list[tuple[str, int, bool]]:
    """Top-level package of every absolute import: (name, line, inside a function body)."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend((a.name.split(".")[0], node.lineno, in_function) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno, in_function))
        nested = in_function or isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        for child in ast.iter_child_nodes(node):
            visit(child, nested)

    visit(tree, in_function=False)
    return found


def violations(source: str, relative: str) -> list[str]:
    problems = []
    for name, line, in_function in imports(ast.parse(source)):
        if name in FORBIDDEN:
            problems.append(f"streams/{relative}:{line} imports {name}")
        elif name in LAZY_ONLY and not (LAZY_ONLY[name] == relative and in_function):
            problems.append(
                f"streams/{relative}:{line} imports {name} outside {LAZY_ONLY[name]}'s functions"
            )
    return problems


def test_streams_imports_no_web_or_application_code() -> None:
    modules = sorted(STREAMS.rglob("*.py"))
    assert len(modules) > 10

    problems = [
        problem
        for path in modules
        for problem in violations(path.read_text(), path.relative_to(STREAMS).as_posix())
    ]

    assert problems == []


@pytest.mark.parametrize(
    ("source", "relative"),
    [
        ("import litestar", "x.py"),
        ("from litestar.di import Provide", "x.py"),
        ("from api.app import create_app", "x.py"),
        ("import consumers.registry", "x.py"),
        ("def f():\n    from consumers import default", "x.py"),
        ("import uvicorn", "commands/api.py"),
        ("def f():\n    import uvicorn", "commands/worker.py"),
        ("if True:\n    import uvicorn", "commands/api.py"),
    ],
)
def test_checker_flags_forbidden_imports(source: str, relative: str) -> None:
    assert violations(source, relative)


@pytest.mark.parametrize(
    ("source", "relative"),
    [
        ("def run():\n    import uvicorn", "commands/api.py"),
        ("async def run():\n    from uvicorn import Config", "commands/api.py"),
        ("from streams.api_helpers import x\nimport apis", "x.py"),
        ("from . import api", "commands/__init__.py"),
    ],
)
def test_checker_allows_permitted_imports(source: str, relative: str) -> None:
    assert violations(source, relative) == []
