"""Payload modules, for code that needs every message type (generated, do not edit)."""

proto_modules = [
    "nrp_protobuf.dump_pb2",
    "nrp_protobuf.edlutdata_pb2",
    "nrp_protobuf.gazebo_pb2",
    "nrp_protobuf.nrpgenericproto_pb2",
    "nrp_protobuf.enginetest_pb2",
    "nrp_protobuf.wrappers_pb2",
]
