#!/usr/bin/env bash
# Create .venv-nrp-client: the PyPI nrp-client 1.4.0 in a virtual environment of its own.
#
# nrp-client 1.4.0 needs protobuf < 6.30 (it calls MessageFactory.GetMessages) and setuptools < 82
# (it imports pkg_resources), while this project runs on protobuf 7; and the real nrp_protobuf
# modules clash with ours in one descriptor pool. So the real client lives beside our venv, with
# the working set measured in the spec (section 2.12); a plain `pip install nrp-client==1.4.0`
# resolves a broken set today.
#
# Usage: scripts/setup-real-client.sh [PYTHON]   (PYTHON defaults to python3.11, then python3)
# Idempotent: silent when the venv is already complete; exits non-zero on failure.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv-nrp-client"
REQUIREMENTS=(nrp-client==1.4.0 nrp-protobuf==1.4.0 protobuf==5.29.6 grpcio==1.85.1 grpcio-tools==1.71.2
              "setuptools<81" psutil)
# Written last, so a half-finished install is redone on the next run.
MARKER="$VENV/.nrp-client-ready"
MARKER_TEXT="${REQUIREMENTS[*]}"

# The import test is what the interop tests rely on: the client, its generated modules and grpc.
# It runs from / so that the repo's own nrp_protobuf/ (protobuf 7 gencode) cannot shadow the wheel's.
import_test() {
    (cd / && "$VENV/bin/python" - <<'EOF') >/dev/null 2>&1
import warnings
warnings.simplefilter("ignore")
import nrp_client, nrp_protobuf.nrp_server_pb2, nrp_protobuf.proto_modules, grpc, psutil
import google.protobuf
assert google.protobuf.__version__ == "5.29.6", google.protobuf.__version__
EOF
}

if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$MARKER_TEXT" ]] && import_test; then
    exit 0
fi

pick_python() {
    if [[ $# -gt 0 ]]; then echo "$1"; return; fi
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then echo "$candidate"; return; fi
    done
    echo "setup-real-client: no python3.11 or python3 on PATH" >&2
    exit 1
}
PYTHON="$(pick_python "$@")"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "setup-real-client: creating $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi

echo "setup-real-client: installing ${REQUIREMENTS[*]}"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"

if ! import_test; then
    echo "setup-real-client: $VENV was installed but 'import nrp_client' fails there" >&2
    exit 1
fi
rm -f "$MARKER"
echo "$MARKER_TEXT" > "$MARKER"
echo "setup-real-client: $VENV is ready"
