"""`python -m engines.servers.datatransfer`: the datatransfer engine server (`nrp-datatransfer-engine`)."""

import sys

from engines.servers.datatransfer.server import main

sys.exit(main())
