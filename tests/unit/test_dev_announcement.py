"""What `streams dev` prints once it has started everything."""

from __future__ import annotations

from godo.commands.dev import announcement


def test_the_announcement_lists_the_docs_when_the_api_serves_them() -> None:
    text = announcement("redis://:pw-1x@127.0.0.1:6390/0", None, 8123, docs=True)

    assert "docs       http://127.0.0.1:8123/docs" in text.splitlines()
    assert "pw-1x" not in text


def test_the_announcement_leaves_the_docs_out_when_they_are_off() -> None:
    text = announcement("redis://127.0.0.1:6390/0", None, 8123, docs=False)

    assert "/docs" not in text
    assert "health     http://127.0.0.1:8123/health" in text.splitlines()
