"""A TCP proxy between the app and PostgreSQL or Redis that plays a bad network on demand."""

from __future__ import annotations

import asyncio
import socket
import struct
from contextlib import suppress

Address = tuple[str, int] | str
"""(host, port), or the path of a Unix socket."""


class FaultyLink:
    """Forwards 127.0.0.1:`port` to `target`, slowed by `latency`; `reset` and `drop` break the
    connections open at that moment (new ones are accepted again at once)."""

    def __init__(self, target: Address) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.latency = 0.0
        """Seconds each chunk of data waits before it is passed on, either way."""
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.reset()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def reset(self) -> int:
        """Abort every open connection with a TCP RST, both ways; returns how many."""
        links = list(self._links)
        for pair in links:
            for writer in pair:
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    # Linger on, timeout 0: close() sends RST instead of FIN.
                    with suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                writer.transport.abort()
        return len(links)

    def drop(self) -> int:
        """Close every open connection in an orderly way (FIN), both ways; returns how many."""
        links = list(self._links)
        for pair in links:
            for writer in pair:
                writer.close()
        return len(links)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            if isinstance(self._target, str):
                server_in, server_out = await asyncio.open_unix_connection(self._target)
            else:
                server_in, server_out = await asyncio.open_connection(*self._target)
        except OSError:
            client_out.transport.abort()
            return
        pair = (client_out, server_out)
        self._links.add(pair)
        pipes = [
            asyncio.create_task(self._pipe(client_in, server_out)),
            asyncio.create_task(self._pipe(server_in, client_out)),
        ]
        try:
            # Either side closing ends the link: PostgreSQL and Redis never half-close.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._links.discard(pair)
            for writer in pair:
                writer.close()

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, OSError):
            while chunk := await source.read(65536):
                if self.latency:
                    await asyncio.sleep(self.latency)
                sink.write(chunk)
                await sink.drain()
