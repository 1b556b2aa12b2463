"""The version of nrp-jupyter that the server reports (GET /version)."""

__version__ = "0.1.0"
