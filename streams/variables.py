"""Spot per-queue variables for a queue that doesn't exist: a typo that would be ignored.

A queue setting is ``STREAMS_<SETTING>`` for every queue or ``STREAMS_<QUEUE>_<SETTING>`` for
one; queue names may contain '_', so a variable is read as a queue's only if some split of it
into ``<QUEUE>_<SETTING>`` names a known setting, and it is unknown only if no such split
names a configured queue and the whole is no setting of all queues.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Final

from streams.config import _TOP_LEVEL, QueueSettings, _env_part

log = logging.getLogger(__name__)

PREFIX: Final = "STREAMS_"


def unknown_queue_variables(env: Mapping[str, str], queues: Sequence[str]) -> list[str]:
    """Return the STREAMS_<QUEUE>_<SETTING> variables whose <QUEUE> is none of queues."""
    settings = {field.upper() for field in QueueSettings.__struct_fields__}
    known = {_env_part(queue) for queue in queues}
    top_level = set(_TOP_LEVEL.values())
    unknown = []
    for variable in sorted(env):
        rest = variable.removeprefix(PREFIX)
        if rest == variable or rest in settings or variable in top_level:
            continue
        parts = [rest[: -len(s) - 1] for s in settings if rest.endswith(f"_{s}")]
        if parts and not any(part in known for part in parts):
            unknown.append(variable)
    return unknown


def warn_unknown_queue_variables(env: Mapping[str, str], queues: Sequence[str]) -> None:
    """Log one warning naming the variables for unknown queues, and the queues that exist."""
    unknown = unknown_queue_variables(env, queues)
    if unknown:
        log.warning(
            "%s ignored: no such queue (queues: %s; per-queue settings are "
            "STREAMS_<QUEUE>_<SETTING>)",
            ", ".join(unknown) + (" is" if len(unknown) == 1 else " are"),
            ", ".join(queues),
        )
