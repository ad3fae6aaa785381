"""The OpenTelemetry gate: decides whether tracing is on, without importing OpenTelemetry.

Tracing is on when Settings.otel_traces_exporter is set (any OTEL_* variable that configures
tracing; see config.py) and the ``otel`` extra is installed, or when a test or an
application hands a tracer provider to use(). Only then is streams/otel.py imported, so
without the extra, or unconfigured, nothing of OpenTelemetry is loaded and the hot path
only checks one attribute per message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from streams.config import Settings

if TYPE_CHECKING:  # the type only: importing streams.otel would load OpenTelemetry
    from streams.otel import Tracing

log = logging.getLogger(__name__)

_state: dict[str, Any] = {}


def use(provider: object | None) -> None:
    """Trace with this TracerProvider from now on (None: back to the settings' choice)."""
    _state.clear()
    if provider is not None:
        from streams.otel import Tracing  # loaded only when tracing is on

        _state["tracing"] = Tracing(provider)


def for_settings(settings: Settings) -> Tracing | None:
    """The process's Tracing when tracing is on, else None (cheap after the first call)."""
    if "tracing" in _state:
        return _state["tracing"]  # type: ignore[no-any-return]  # set by use() or below
    if not settings.otel_traces_exporter:
        return None
    try:
        from streams.otel import Tracing, install_provider  # optional extra
    except ImportError:
        log.warning(
            "OTEL_* variables ask for tracing but OpenTelemetry is not installed; "
            "pip install 'godo-streams[otel]' to trace messages"
        )
        _state["tracing"] = None
        return None
    _state["tracing"] = Tracing(install_provider(settings.otel_traces_exporter))
    return _state["tracing"]  # type: ignore[no-any-return]  # just set
