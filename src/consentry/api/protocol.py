"""The HTTP/1.1 protocol the service is served with: uvicorn's, with Nagle's algorithm
off on every connection.

A response goes out as two writes (its head, then its body). On a socket that was bound
before the server started (as it is for more than one worker), asyncio leaves Nagle on,
and the body then waits for the client's delayed acknowledgement of the head: some 40 ms
on every request.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["NoDelayProtocol"]


class NoDelayProtocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
