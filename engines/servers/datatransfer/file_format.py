"""The lines the datatransfer engine appends to `<dataDirectory>/<timestamp>/<datapack>.data`.

nrp-core 1.4's format (StreamDataPackController), where `t` is the engine's simulation time in
seconds when the datapack arrived:

    Dump.String       t,<string_stream>                      t as "%.6f"
    Dump.ArrayFloat   t,0,v0,v1,...                          1-D (dims absent or not 2), values "%.6f"
                      t,\\n0,v,v,...\\n1,v,v,...               2-D (dims [rows, cols]): one line per row,
                                                             each starting with its row index; values
                                                             beyond rows*cols are left out
    any other type    sim_time,<field>,<field>,...           once, as a header, on the first datapack
                      t,<value>,<value>,...                  then one line per datapack, t as "%g"

Departures, where nrp-core writes nothing useful: a repeated field (nrp-core cannot log them) is
written as its values separated by spaces; a bytes field as `<N bytes>`; a nested message as its
text form on one line. Floats use Python's shortest repr in those cells.
"""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_DUMP_STRING = "Dump.String"
_DUMP_ARRAY_FLOAT = "Dump.ArrayFloat"


class DataFileFormat:
    """Formats the datapacks of one file; it remembers whether the header was written."""

    def __init__(self):
        self._header_written = False

    def lines(self, message: Message, sim_time_s: float) -> list[str]:
        """The lines to append for `message` (the datapack's data, not its DataPackMessage)."""
        type_name = message.DESCRIPTOR.full_name
        if type_name == _DUMP_STRING:
            return [f"{sim_time_s:.6f},{message.string_stream}"]
        if type_name == _DUMP_ARRAY_FLOAT:
            return [f"{sim_time_s:.6f},{_array_float(message)}"]
        lines = []
        if not self._header_written:
            self._header_written = True
            lines.append(",".join(["sim_time", *(field.name for field in message.DESCRIPTOR.fields)]))
        values = [_cell(message, field) for field in message.DESCRIPTOR.fields]
        lines.append(",".join([f"{sim_time_s:g}", *values]))
        return lines


def _array_float(message: Message) -> str:
    values = list(message.float_stream)
    if len(message.dims) != 2:
        return ",".join(["0", *(f"{value:.6f}" for value in values)])
    rows, columns = message.dims
    text = []
    for row in range(rows):
        cells = values[row * columns:(row + 1) * columns]
        text.append("\n" + ",".join([str(row), *(f"{value:.6f}" for value in cells)]))
    return "".join(text)


def _cell(message: Message, field: FieldDescriptor) -> str:
    value = getattr(message, field.name)
    if field.is_repeated:
        return " ".join(_scalar(field, item) for item in value)
    return _scalar(field, value)


def _scalar(field: FieldDescriptor, value) -> str:
    if field.type == FieldDescriptor.TYPE_BYTES:
        return f"<{len(value)} bytes>"
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return str(value).replace("\n", " ").strip()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "1" if value else "0"
    return str(value)
