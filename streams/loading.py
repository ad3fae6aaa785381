"""Import the object a 'module:attribute' setting names (STREAMS_APP, STREAMS_SCHEDULE, STREAMS_DEMO).

Every way such a setting can be wrong ends in one StreamsError naming the setting, never in a
traceback: a malformed spec, a module that cannot be imported or raises while importing, a
missing attribute, a factory that fails when called.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from typing import Final

from streams.errors import StreamsError

log = logging.getLogger(__name__)

_SPEC: Final = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
_DEBUG_HINT: Final = "LOG_LEVEL=DEBUG shows the traceback"


def import_object(spec: str, source: str, example: str) -> object:
    """Return the attribute spec names; source is the setting it came from (e.g. STREAMS_APP).

    Raises:
        StreamsError: naming source, for any way the spec can fail.
    """
    if not _SPEC.match(spec):
        raise StreamsError(f"{source}: {spec!r} is not module:attribute (for example {example})")
    module_name, attribute = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except StreamsError:
        raise  # the application's own setting error already names its variable
    except ModuleNotFoundError as exc:
        raise StreamsError(f"{source}: cannot import {module_name!r}: {exc}") from None
    except Exception as exc:  # any import-time error of the application becomes one line
        log.debug("importing %s failed", module_name, exc_info=True)
        raise StreamsError(
            f"{source}: importing {module_name!r} failed: {type(exc).__name__}: {exc} ({_DEBUG_HINT})"
        ) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise StreamsError(
            f"{source}: module {module_name!r} has no attribute {attribute!r}"
        ) from None


def call_factory(factory: Callable[[], object], spec: str, source: str) -> object:
    """Call a factory named by spec; its failure becomes one StreamsError naming source."""
    try:
        return factory()
    except StreamsError:
        raise
    except Exception as exc:  # the application's factory failing becomes one line
        log.debug("calling %s failed", spec, exc_info=True)
        raise StreamsError(
            f"{source}: calling {spec!r} failed: {type(exc).__name__}: {exc} ({_DEBUG_HINT})"
        ) from None
