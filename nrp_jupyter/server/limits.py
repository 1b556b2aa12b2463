"""Bounds on what a client may send, checked once where requests come in.

Each bound is far above what an experiment needs and far below what would make the server fail
somewhere deeper (Python's int-string limit of 4300 digits, the file system's 255-byte names, the
JSON decoder's recursion). A request past a bound is a 400 that names the bound, and repeats the
client's value only shortened (`errors.shown`).
"""

from __future__ import annotations

import json

from nrp_jupyter.server.errors import ClientError

#: Simulation ids are counters; 18 digits stay inside SQLite's 64-bit integers.
MAX_ID_DIGITS = 18
#: A name (experiment id, config or script path) as a whole, and each of its '/' segments.
MAX_PATH_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255
#: A REST body: NRP's are a few short fields.
MAX_BODY_BYTES = 64 * 1024


def simulation_id(text: str) -> int:
    """The simulation id in a path; raises ClientError past MAX_ID_DIGITS digits."""
    if len(text) > MAX_ID_DIGITS:
        raise ClientError(f"A simulation ID has at most {MAX_ID_DIGITS} digits; this one has {len(text)}")
    return int(text)


def path_length_problem(value: str) -> str | None:
    """What makes `value` too long for a name inside the storage, or None."""
    if len(value) > MAX_PATH_LENGTH:
        return f"is {len(value)} characters long; at most {MAX_PATH_LENGTH} are allowed"
    longest = max(len(segment) for segment in value.split("/"))
    if longest > MAX_SEGMENT_LENGTH:
        return f"has a name of {longest} characters; at most {MAX_SEGMENT_LENGTH} are allowed"
    return None


def decode_body(body: bytes | bytearray | str) -> object:
    """A REST body decoded from JSON; raises ClientError for an empty, oversized, malformed or too
    deeply nested one."""
    if len(body) > MAX_BODY_BYTES:
        raise ClientError(f"The request body is {len(body)} bytes; at most {MAX_BODY_BYTES} are accepted")
    if not body.strip():
        raise ClientError("The request body is empty; a JSON object is required")
    try:
        return json.loads(body)
    except RecursionError:
        raise ClientError("The request body is nested too deeply to be read") from None
    except ValueError as error:
        raise ClientError(f"The request body is not valid JSON: {error}") from None
