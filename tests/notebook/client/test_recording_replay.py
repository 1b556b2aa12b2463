"""Replay's timeline, driven by a clock the test sets: messages come when due, in order; pause holds
the timeline, seek moves it, speed scales it; and frames without pandas say what to install."""

import builtins
import threading

import pytest

from nrp_jupyter.notebook.client.recording import RecordedMessage, Recording
from nrp_jupyter.notebook.client.replay import Replay
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(30)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def message(at: float, topic: str = "status") -> RecordedMessage:
    return RecordedMessage(topic=topic, wall_time=1000.0 + at, sim_time=at / 2, payload={"at": at},
                           data=b"{}", encoding="json", schema="nrp.Status")


MESSAGES = [message(0.0), message(10.0), message(20.0, "lifecycle"), message(30.0)]


def played(replay: Replay, clock: Clock):
    got = []
    replay.play(got.append)
    return got


def test_messages_come_when_due_and_pause_holds_the_timeline():
    clock = Clock()
    replay = Replay(MESSAGES, clock=clock)
    got = played(replay, clock)
    eventually(lambda: len(got) == 1, 5, "the message due at 0")
    clock.now = 10.0
    replay.resume()  # wakes the player to look at the clock again; it was not paused
    eventually(lambda: len(got) == 2, 5, "the message due at 10")
    replay.pause()
    clock.now = 100.0
    replay.resume()
    assert replay.position == 10.0  # the 90 s spent paused are not on the timeline
    clock.now = 109.0
    replay.resume()
    assert len(got) == 2 and replay.position == 19.0
    replay.speed = 2.0  # from here, one clock second is two timeline seconds
    clock.now = 110.0
    replay.resume()
    eventually(lambda: len(got) == 3, 5, "the message due at 20, at twice the speed")
    assert replay.position == 21.0
    clock.now = 114.5
    replay.resume()
    assert replay.wait(5)
    assert got == MESSAGES and replay.delivered == 4


def test_seek_goes_to_the_first_message_due_at_or_after_it():
    replay = Replay(MESSAGES, speed=1e6)  # the real clock, fast: 5 timeline seconds take 5 µs
    replay.seek(15.0)
    iterator = iter(replay)
    assert next(iterator) is MESSAGES[2]
    replay.seek(0.0)
    assert next(iterator) is MESSAGES[0]
    replay.seek(25.0)
    assert list(iterator) == [MESSAGES[3]]


def test_stop_ends_a_replay_that_waits():
    replay = Replay(MESSAGES, clock=Clock())
    got = played(replay, Clock())
    eventually(lambda: len(got) == 1, 5, "the first message")
    stopper = threading.Thread(target=replay.stop)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive() and replay.wait(0) and got == MESSAGES[:1]


def test_a_speed_that_is_not_a_positive_factor_is_refused():
    with pytest.raises(ValueError, match="speed must be a positive factor, not 0.0"):
        Replay(MESSAGES, speed=0)


def test_replay_keeps_only_the_topics_asked_for():
    recording = Recording(MESSAGES, {"simulationID": "3"})
    assert list(recording.replay(speed=1e9, topics="lifecycle")) == [MESSAGES[2]]


def test_frames_without_pandas_say_how_to_get_it(monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"need pandas: pip install 'nrp-jupyter\[analysis\]'"):
        Recording(MESSAGES, {}).frames()


def test_a_recording_cut_short_gives_its_messages_up_to_the_cut():
    import io
    import json

    from nrp_jupyter.server.recording.mcap_file import RecordingFile

    stream = io.BytesIO()
    writer = RecordingFile(stream, {"simulationID": "3"})
    for step in range(5000):
        writer.write_json("status", json.dumps({"simulationTime": step / 100}).encode(),
                          10**18 + step * 10**7, step * 10**7)
    cut = stream.getvalue()  # the chunks written so far; no last chunk, no summary

    recording = Recording.from_bytes(cut)

    assert recording.metadata == {"formatVersion": "1", "simulationID": "3"}
    assert 0 < len(recording) < 5000
    assert [message.payload["simulationTime"] for message in recording.messages] == [
        step / 100 for step in range(len(recording))]
    writer.finish()
    assert len(Recording.from_bytes(stream.getvalue())) == 5000


def test_frames_flatten_payloads_and_keep_their_own_time_columns():
    messages = [RecordedMessage(topic="steering", wall_time=1000.0 + at, sim_time=at, data=b"", encoding="json",
                                schema="nrp.Steering",
                                payload={"time": "payload's", "value": {"gain": at}, "array": [1.0, 2.0]})
                for at in (0.0, 0.5)]

    frame = Recording(messages, {}).frame("steering")

    assert list(frame.columns) == ["time", "wall_time", "sim_time", "payload.time", "value.gain", "array[0]",
                                   "array[1]"]
    assert list(frame["time"]) == [0.0, 0.5] and list(frame["value.gain"]) == [0.0, 0.5]
    assert list(frame["payload.time"]) == ["payload's", "payload's"]
