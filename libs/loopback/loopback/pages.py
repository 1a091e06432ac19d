"""An HTTP server on a free loopback port that answers every GET from a function: for tests
that stand in for another service's endpoint (a metrics page, Prometheus' query API)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# What a page is: the body and its Content-Type, given the request's path (with its query).
Answer = Callable[[str], tuple[bytes, str]]


@contextmanager
def page_server(answer: Answer) -> Iterator[str]:
    """Serve `answer` until the block ends; yields the base URL (`http://127.0.0.1:<port>`).
    An exception in `answer` closes that request's connection without a response."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # (the stdlib's name)
            body, content_type = answer(self.path)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="page-server", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
