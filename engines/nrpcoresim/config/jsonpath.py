"""How a location inside a config is written in error messages: ``EngineConfigs[1].EngineTimestep``."""

from collections.abc import Iterable


def format_path(segments: Iterable[str | int]) -> str | None:
    """Join keys with dots and write list indexes in brackets; None for the document root."""
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else str(segment)
    return text or None
