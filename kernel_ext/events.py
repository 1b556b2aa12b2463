"""Sending the kernel's events (kernel_ext.protocol) to the server.

Inside an IPython kernel an event is a display_data message on iopub whose data has one key,
`protocol.MIME_TYPE`. It may be emitted from any thread: ipykernel (>= 7.1) routes a thread's output to the
request that started the thread, and the server reads every iopub message of this dedicated kernel,
so the parent header does not matter. Outside a kernel (plain Python, unit tests) events go to the
sink installed with `set_sink`, or are only logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .protocol import MIME_TYPE, Event

log = logging.getLogger(__name__)

Sink = Callable[[dict[str, Any]], None]

_sink: Sink | None = None


def set_sink(sink: Sink | None) -> Sink | None:
    """Send events to `sink` instead of the kernel (None restores the default); returns the previous sink."""
    global _sink
    previous, _sink = _sink, sink
    return previous


def emit(event: Event) -> None:
    """Publish one event, as `event.to_json()`."""
    sink = _sink or _publish
    sink(event.to_json())


def _publish(payload: dict[str, Any]) -> None:
    # Imported here: IPython is slow to import and not needed outside kernels.
    from IPython import get_ipython
    from IPython.display import publish_display_data

    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        log.debug("event outside a kernel, dropped: %s", payload)
        return
    publish_display_data({MIME_TYPE: payload})
