"""The witness over HTTP: ``POST <prefix>/add-checkpoint`` (C2SP tlog-witness).

A ``ThreadingHTTPServer`` from the standard library, HTTP/1.1 with keep-alive as the
protocol asks; every answer comes from ``Witness.add_checkpoint``. Bodies are capped,
since a valid request is an old size, at most 63 hashes and a checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from consentry.witness.service import Witness, WitnessReply

__all__ = ["WitnessServer", "running"]

_MAX_BODY = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WitnessServer

    def do_POST(self) -> None:
        if self.path.rstrip("/") != self.server.prefix + "/add-checkpoint":
            self._reply(WitnessReply.text(404, f"no such endpoint {self.path}"))
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(WitnessReply.text(411, "send the body with a Content-Length"))
            return
        if not 0 <= length <= _MAX_BODY:
            self._reply(WitnessReply.text(413, f"the body is over {_MAX_BODY} bytes"))
            self.close_connection = True
            return
        self._reply(self.server.witness.add_checkpoint(self.rfile.read(length)))

    def do_GET(self) -> None:
        self._reply(WitnessReply.text(405, "POST a checkpoint to add-checkpoint"))

    def _reply(self, reply: WitnessReply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.quiet:
            return
        super().log_message(format, *args)


class WitnessServer(ThreadingHTTPServer):
    """An HTTP server answering add-checkpoint requests for ``witness``."""

    daemon_threads = True
    # Many logs may submit at once; the standard library's queue of 5 makes the kernel
    # reset the sixth connection.
    request_queue_size = 128

    def __init__(
        self,
        witness: Witness,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        prefix: str = "",
        quiet: bool = False,
    ) -> None:
        self.witness = witness
        self.prefix = prefix.rstrip("/")
        self.quiet = quiet
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"


@contextmanager
def running(witness: Witness, host: str = "127.0.0.1", port: int = 0) -> Iterator[WitnessServer]:
    """Serve ``witness`` on a background thread for the duration of the block."""
    server = WitnessServer(witness, host, port, quiet=True)
    # Polled often so that leaving the block does not wait half a second for the loop.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
