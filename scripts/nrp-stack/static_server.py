"""Serve the frontend's production build: its files, and index.html for every other path, since the
React router owns routes such as /experiment/<id> that are no files.

    python static_server.py BUILD_DIR PORT
"""

from __future__ import annotations

import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class SinglePageHandler(SimpleHTTPRequestHandler):
    def send_head(self):
        relative = self.path.split("?", 1)[0].split("#", 1)[0].lstrip("/")
        if relative and not (Path(self.directory) / relative).exists():
            self.path = "/index.html"
        return super().send_head()

    def log_message(self, format, *args):
        sys.stderr.write("%s\n" % (format % args))


def main() -> None:
    build, port = Path(sys.argv[1]), int(sys.argv[2])
    handler = functools.partial(SinglePageHandler, directory=str(build))
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


if __name__ == "__main__":
    main()
