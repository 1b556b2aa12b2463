"""A widget comm that keeps what it would publish, so that tests read the panel's messages."""

import time

import comm


class RecordingComm(comm.DummyComm):
    """What a kernel would publish for a widget, kept instead of sent."""

    def __init__(self, *args, **kwargs):
        self.published = []
        super().__init__(*args, **kwargs)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        self.published.append((time.monotonic(), msg_type, data))

    def updates(self) -> list[tuple[float, dict]]:
        """(time, state) of each state update sent to the front end."""
        return [(when, data["state"]) for when, msg_type, data in self.published
                if msg_type == "comm_msg" and data.get("method") == "update"]
