"""`python -m nrp_jupyter.cli`: what the private server of `jupyter nrp run` is started with."""

import sys

from .main import main

sys.exit(main())
