"""Protobuf modules of nrp-core 1.4's message packages, generated from protos/ (do not edit)."""
