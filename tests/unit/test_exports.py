"""The public API is exactly streams.__all__."""

from __future__ import annotations

import types

import streams


def public_names() -> set[str]:
    """What `from streams import ...` offers beyond submodules and the __future__ feature."""
    return {
        name
        for name, value in vars(streams).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }


def test_all_is_sorted_without_duplicates() -> None:
    assert streams.__all__ == sorted(set(streams.__all__))


def test_all_lists_every_public_name_and_nothing_else() -> None:
    assert set(streams.__all__) == public_names()


def test_star_import_gives_every_name_in_all() -> None:
    namespace: dict[str, object] = {}

    exec("from streams import *", namespace)  # noqa: S102  # a fixed string

    assert set(namespace) - {"__builtins__"} == set(streams.__all__)


def test_core_entry_points_are_exported() -> None:
    # What api/ and consumers/ rely on.
    assert {"Registry", "Producer", "Settings", "from_env", "Context", "StreamsError"} <= set(
        streams.__all__
    )
