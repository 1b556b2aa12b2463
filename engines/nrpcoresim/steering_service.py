"""The `SteeringService` gRPC servicer (protos/nrp_steering.proto, our extension) in front of a
SimulationManager's SteeringDesk.

A job of an engine that is idle between two requests is served through the request queue, after
whatever request is queued before it; a run that starts first serves it at its next step boundary
instead (the desk hands each job out once), so no steering request waits for a whole run.
"""

from __future__ import annotations

import concurrent.futures
import logging

import grpc

from engines.datapacks import ProtobufDataPack, json_text
from engines.errors import NrpCoreError
from engines.nrpcoresim.manager import SimulationManager
from engines.nrpcoresim.steering import Outcome, SteeringRefused
from engines.nrpcoresim.trajectory import datapacks_from
from nrp_protobuf import nrp_server_pb2 as pb
from nrp_protobuf import nrp_steering_pb2 as steering_pb
from nrp_protobuf import nrp_steering_pb2_grpc as steering_grpc

log = logging.getLogger(__name__)

#: How long a read waits for its engine's next step boundary (or for the queue between runs).
READ_TIMEOUT_S = 10.0


class SteeringServicer(steering_grpc.SteeringServiceServicer):
    def __init__(self, manager: SimulationManager, requests):
        self._manager = manager
        # The server's RequestQueue: `post` runs a function on the request thread, between requests.
        self._requests = requests

    def steer(self, request, context):
        try:
            datapacks = datapacks_from(request.dataPacks)
        except NrpCoreError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        if len(datapacks) != 1:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"a steering request carries one datapack, "
                                                            f"not {len(datapacks)}")
        [datapack] = datapacks
        with _refusals(context):
            engine = self._manager.engine(datapack.engine_name)
            engine.check_outgoing([datapack])
            self._manager.steering.write(request.ticket, datapack)
        self._serve_between_runs()
        return steering_pb.SteerReply()

    def read(self, request, context):
        with _refusals(context):
            self._manager.engine(request.engineName)
            answer = self._manager.steering.read(request.engineName, request.dataPackName)
        self._serve_between_runs()
        try:
            datapack = answer.result(READ_TIMEOUT_S)
        except concurrent.futures.TimeoutError:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                          f"engine '{request.engineName}' did not reach a step boundary within {READ_TIMEOUT_S:g} s")
        except SteeringRefused as error:
            context.abort(grpc.StatusCode.NOT_FOUND if error.missing else grpc.StatusCode.FAILED_PRECONDITION,
                          str(error))
        except NrpCoreError as error:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        reply = steering_pb.ReadReply(empty=datapack.data is None)
        entry = (reply.dataPacks.protoDataPacks if isinstance(datapack, ProtobufDataPack)
                 else reply.dataPacks.jsonDataPacks).add()
        entry.dataPackId.dataPackName = datapack.name
        entry.dataPackId.engineName = datapack.engine_name
        entry.dataPackId.dataPackType = datapack.type
        if datapack.data is not None:
            if isinstance(datapack, ProtobufDataPack):
                entry.data.Pack(datapack.data)
            else:
                entry.data.Pack(pb.JsonMessage(data=json_text(datapack.data)))
        return reply

    def watch(self, request, context):
        for outcome in self._manager.steering.watch(context.is_active):
            yield _outcome_message(outcome)

    def _serve_between_runs(self) -> None:
        try:
            self._requests.post(self._manager.serve_steering)
        except Exception as error:  # noqa: BLE001 (shutting down: the desk refuses what it holds)
            log.debug("steering not served: %s", error)


class _refusals:
    """Aborts the RPC with the status a refusal deserves."""

    def __init__(self, context):
        self._context = context

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, SteeringRefused):
            self._context.abort(grpc.StatusCode.NOT_FOUND if error.missing else grpc.StatusCode.FAILED_PRECONDITION,
                                str(error))
        if isinstance(error, NrpCoreError):
            self._context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        return False


def _outcome_message(outcome: Outcome) -> steering_pb.SteeringOutcome:
    return steering_pb.SteeringOutcome(ticket=outcome.ticket, engineName=outcome.engine,
                                       dataPackName=outcome.datapack, applied=outcome.applied,
                                       timeNs=outcome.time_ns, iteration=outcome.iteration, error=outcome.error,
                                       missing=outcome.missing)
