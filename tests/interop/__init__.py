"""Interoperation with the real nrp-core 1.4 pieces: the PyPI nrp-client and nrp-protobuf wheels."""
