"""Datapack streams ("data/<datapack>" frames, as the datatransfer engine sends them) end up in
the plot traits: numeric series per datapack, and the latest image."""

import base64

import pytest

from tests.notebook.panel.frame_server import frame
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)

PIXELS = bytes(range(2 * 2 * 3))


def datapack_frames(ws, _):
    for step in range(5):
        ws.send(frame(1, "data/joints", {
            "datapack": "joints", "type": "JsonDataPack",
            "samples": [{"time": step * 0.02, "values": {"angle": step * 0.5, "name": "hinge"}},
                        {"time": step * 0.02 + 0.01, "values": {"angle": step * 0.5 + 0.25, "torque": -1.0}}]}))
    ws.send(frame(1, "data/camera", {"datapack": "camera", "type": "Image", "samples": [],
                                     "image": {"width": 2, "height": 2, "encoding": "rgb8",
                                               "data": base64.b64encode(PIXELS).decode()}}))
    ws.send(frame(1, "data/brain", {"datapack": "brain", "type": "JsonDataPack",
                                    "samples": [{"time": 0.1, "values": {"rate": 12.5}}]}))


def test_every_numeric_series_and_the_image_reach_the_plot_traits(frame_server, panels, simulation_of):
    panel = panels(simulation_of(frame_server(on_connect=datapack_frames)))
    eventually(lambda: "brain" in panel.series, 20, what="the last datapack")
    joints = panel.series["joints"]
    # No status while they came: all at the simulation time of the snapshot (none: 0).
    assert joints["angle"]["t"] == [0.0] * 10
    assert joints["angle"]["v"] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25]
    assert joints["torque"]["v"] == [-1.0] * 5 and "name" not in joints
    assert panel.series["brain"] == {"rate": {"t": [0.0], "v": [12.5]}}
    image = panel.images["camera"]
    assert (image["width"], image["height"], image["encoding"]) == (2, 2, "rgb8")
    assert base64.b64decode(image["data"]) == PIXELS


def test_only_chosen_datapacks_are_plotted(frame_server, panels, simulation_of):
    panel = panels(simulation_of(frame_server(on_connect=datapack_frames)),
                   datapacks=["brain"])
    eventually(lambda: "brain" in panel.series, 20, what="the chosen datapack")
    assert list(panel.series) == ["brain"] and panel.images == {}
