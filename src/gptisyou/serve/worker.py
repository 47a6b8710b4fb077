"""The one generation thread: requests queue on it, so outputs never mix, and a client that leaves stops its
generation at the next token."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from gptisyou.engine.responder import Line, Responder, Sampling, Usage

_DISCONNECT_POLL_S = 0.25  # how often a waiting non-streaming request checks that its client is still there


class Worker:
    """Runs generations one after another on its own thread; a client that goes away stops its generation."""

    def __init__(self, clone: Responder) -> None:
        self.clone = clone
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")

    async def complete(
        self, history: list[Line], sampling: Sampling, disconnected: Callable[[], Awaitable[bool]]
    ) -> tuple[str, Usage]:
        """The whole reply; stopped early (and answered with nothing) if the client disconnects meanwhile."""
        usage = Usage()
        collect = asyncio.ensure_future(_joined(self.stream(history, sampling, usage)))
        try:
            while not collect.done():
                await asyncio.wait({collect}, timeout=_DISCONNECT_POLL_S)
                if not collect.done() and await disconnected():
                    collect.cancel()  # closes the stream, which stops the generation at its next token
                    await asyncio.gather(collect, return_exceptions=True)  # until the worker is free again
                    return "", usage
            return collect.result().strip(), usage
        finally:
            collect.cancel()  # a no-op once it is done

    async def stream(self, history: list[Line], sampling: Sampling, usage: Usage) -> AsyncIterator[str]:
        """Pieces as they are sampled; a client that goes away stops the generation at the next token."""
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        stopped = False

        def produce() -> None:
            try:
                for piece in self.clone.stream(history, sampling, usage, cancelled=lambda: stopped):
                    loop.call_soon_threadsafe(pieces.put_nowait, piece)
            except Exception as error:  # noqa: BLE001 -- handed to the request, which answers it as an error
                loop.call_soon_threadsafe(pieces.put_nowait, error)
            finally:
                loop.call_soon_threadsafe(pieces.put_nowait, None)

        done = loop.run_in_executor(self._thread, produce)
        try:
            while (piece := await pieces.get()) is not None:
                if isinstance(piece, BaseException):
                    raise piece
                yield piece
        finally:
            stopped = True
            await asyncio.shield(done)


async def _joined(pieces: AsyncIterator[str]) -> str:
    return "".join([piece async for piece in pieces])
