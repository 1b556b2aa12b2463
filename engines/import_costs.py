"""Imports that cost more than they give, left out of the processes this project starts."""

import sys


def skip_iri_grammar() -> None:
    """Keeps jsonschema from loading rfc3987_syntax; call it before jsonschema is first imported.

    jsonschema registers a checker for the "iri" and "iri-reference" formats when rfc3987_syntax is
    installed (jupyter_events pulls it in), and importing that module builds an Earley parser for
    RFC 3987's grammar: about 2.5 s of CPU, three times the rest of a Jupyter server's imports. No
    schema of ours, nrp-core's or Jupyter's server checks those formats. Does nothing once the
    module is imported.
    """
    sys.modules.setdefault("rfc3987_syntax", None)
