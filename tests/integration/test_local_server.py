"""LocalServer without data_dir writes nothing where it was started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ha_support import replica_set, replicate


async def test_a_replicas_full_sync_leaves_the_current_directory_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with replica_set(1) as (primary, replica):
        await replicate(replica, primary)  # a full sync: the replica writes an RDB file

    assert os.listdir(tmp_path) == []
