"""One asyncio loop on its own daemon thread, running one coroutine, stoppable within a time budget."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class LoopThread:
    """Run ``main()`` on a fresh event loop in a daemon thread named ``name``.

    Parameters
    ----------
    name : str
        Thread name and the label in log messages.
    main : callable
        Returns the coroutine to run.
    on_cancelled : callable
        Called on the thread when the coroutine was cancelled (a stop that had to cancel it).
    on_crash : callable
        Called on the thread when the coroutine raised (the exception is logged first).
    on_exit : callable
        Called on the thread at the very end, after the loop's other tasks were cancelled.
    """

    def __init__(self, name: str, main: Callable[[], Coroutine[Any, Any, None]], *,
                 on_cancelled: Callable[[], None], on_crash: Callable[[], None],
                 on_exit: Callable[[], None]) -> None:
        self.name = name
        self._main = main
        self._on_cancelled = on_cancelled
        self._on_crash = on_crash
        self._on_exit = on_exit
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._ready = threading.Event()

    @property
    def started(self) -> bool:
        """True once :meth:`start` was called."""
        return self._thread is not None

    @property
    def running(self) -> bool:
        """True once the loop exists (it may have finished since)."""
        return self._thread is not None and self._loop is not None

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, ready_timeout_s: float = 2.0) -> None:
        """Start the thread and wait (up to ``ready_timeout_s``) until the coroutine is scheduled."""
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        self._ready.wait(ready_timeout_s)

    def call_soon(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` on the loop (thread-safe); nothing when the loop is already closed."""
        if self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(callback)
        except RuntimeError:  # loop already closed
            pass

    def stop(self, request_stop: Callable[[], None], budget_s: float) -> bool:
        """Ask the coroutine to end (``request_stop`` on the loop), cancel it when it does not, within ``budget_s``.

        Returns
        -------
        bool
            False when the thread is still busy after the budget (it then finishes in the background).
        """
        thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + budget_s
        self.call_soon(request_stop)
        thread.join(max(0.0, deadline - time.monotonic() - 0.3))
        if thread.is_alive() and self._task is not None:
            self.call_soon(self._task.cancel)
            thread.join(max(0.05, deadline - time.monotonic()))
        return not thread.is_alive()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._task = loop.create_task(self._main())
            self._ready.set()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            self._on_cancelled()
        except BaseException:  # noqa: BLE001 - a crash of the thread must be seen, not kill the app
            log.exception("%s: BLE thread crashed", self.name)
            self._on_crash()
        finally:
            _cancel_pending(loop, self.name)
            self._on_exit()
            loop.close()
            self._ready.set()


def _cancel_pending(loop: asyncio.AbstractEventLoop, name: str) -> None:
    try:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=0.5))
        loop.run_until_complete(loop.shutdown_asyncgens())
    except Exception:  # noqa: BLE001
        log.debug("%s: loop cleanup incomplete", name, exc_info=True)
