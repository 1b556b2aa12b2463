"""Tests of scripts/nrp-core-conformance and its modules (scripts/conformance/)."""
