"""`GET <base_url>nrp/simulation/<id>/recording`: the MCAP recording of a simulation that has ended
(nrp_jupyter.server.recording), as `application/octet-stream`.

Registered by the app beside `handlers.handlers()` (this module builds on handlers.py, which
therefore cannot list it without an import cycle)."""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import NrpHandler, nrp_errors
from .limits import simulation_id as parse_simulation_id

MCAP_MEDIA_TYPE = "application/octet-stream"
_PIECE_BYTES = 1024 * 1024
RECORDING_ROUTE = r"/nrp/simulation/(?P<simulation_id>\d+)/recording"


class SimulationRecordingHandler(NrpHandler):
    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id):
        sid = parse_simulation_id(simulation_id)
        _ = self.simulations  # a server that cannot keep records answers 503, as on every route
        path = await self.settings["nrp_recordings"].path(sid)
        self.set_header("Content-Type", MCAP_MEDIA_TYPE)
        self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
        with await asyncio.to_thread(open, path, "rb") as recording:
            while piece := await asyncio.to_thread(recording.read, _PIECE_BYTES):
                self.write(piece)
                await self.flush()
        self.finish()


def recording_handlers() -> list[tuple[str, type]]:
    return [(RECORDING_ROUTE, SimulationRecordingHandler)]
