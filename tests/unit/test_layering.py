"""Dependencies point one way: godo -> api -> streams and consumers -> streams, never back.

streams/ imports neither the web framework, nor uvicorn, nor the application packages, not
even by name through importlib: the commands that need them (`streams api`, `streams dev`)
are composed in godo/, the installed `streams` command. Nothing imports godo/.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "streams": frozenset({"litestar", "uvicorn", "api", "consumers", "godo"}),
    "api": frozenset({"consumers", "godo"}),
    "consumers": frozenset({"api", "godo", "litestar", "uvicorn"}),
}
DYNAMIC = frozenset({"import_module", "__import__"})


def imports(tree: ast.AST) -> list[tuple[str, int]]:
    """Top-level package of every absolute import, and of import_module("literal") calls."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((a.name.split(".")[0], node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module.split(".")[0], node.lineno))
        elif isinstance(node, ast.Call) and _called(node.func) in DYNAMIC and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append((first.value.split(".")[0], node.lineno))
            elif isinstance(first, ast.JoinedStr) and first.values:
                head = first.values[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    found.append((head.value.split(".")[0], node.lineno))
    return found


def _called(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def violations(source: str, package: str, relative: str) -> list[str]:
    return [
        f"{package}/{relative}:{line} imports {name}"
        for name, line in imports(ast.parse(source))
        if name in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_what_they_may(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert len(modules) > 5

    problems = [
        problem
        for path in modules
        for problem in violations(
            path.read_text(), package, path.relative_to(ROOT / package).as_posix()
        )
    ]

    assert problems == []


def test_the_installed_command_is_the_composition_with_every_subcommand() -> None:
    from godo.cli import parser

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["streams"] == "godo.cli:main"
    actions = [a for a in parser()._actions if a.dest == "command"]
    assert set(actions[0].choices or ()) == {
        "worker",
        "publish",
        "status",
        "dead",
        "scheduled",
        "pause",
        "resume",
        "scheduler",
        "schema",
        "api",
        "dev",
    }


@pytest.mark.parametrize(
    "source",
    [
        "import litestar",
        "from litestar.di import Provide",
        "from api.app import create_app",
        "import consumers.registry",
        "def f():\n    from consumers import default",
        "def f():\n    import uvicorn",
        "from godo.cli import main",
        'importlib.import_module("api.app")',
        "import_module('uvicorn')",
        'importlib.import_module(f"consumers.{name}")',
        '__import__("api")',
    ],
)
def test_checker_flags_forbidden_imports(source: str) -> None:
    assert violations(source, "streams", "x.py")


@pytest.mark.parametrize(
    "source",
    [
        "from streams.api_helpers import x\nimport apis",
        "from . import api",
        'importlib.import_module(f"streams.commands.{name}")',
        "importlib.import_module(path)",
    ],
)
def test_checker_allows_permitted_imports(source: str) -> None:
    assert violations(source, "streams", "x.py") == []
