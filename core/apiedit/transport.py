"""What the socket did during one call: an overall deadline, and whether anything was sent.

Per-read timeouts never end a server that trickles one byte a second, so every call made
inside `watch(seconds)` also has a deadline for the whole exchange (connect, send, every
byte of the answer): when it passes, the watchdog shuts the connection's socket and the
blocked read returns at once. One watchdog thread serves every call in the process (a timer
thread per request cost a thread start and its teardown on every call). The same watch counts the request bytes written to the socket, so
"may this have been billed?" is answered by the transport (nothing written: certainly not)
instead of guessed from the exception type.

`WatchedAdapter` is the `requests` adapter that reports to the watch; sessions from
`apiedit.http.session_for` use it. Outside a watch it behaves like the stock adapter.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import requests.adapters
import urllib3.connection
import urllib3.connectionpool

__all__ = ["Watch", "WatchedAdapter", "current_watch", "watch"]

_local = threading.local()


class Watch:
    """One call's deadline and the bytes of request it has written so far."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.bytes_sent = 0
        self.expired = False
        self.finished = False  # the call left its watch: a late deadline must not cut anything
        self._lock = threading.Lock()
        self._connections: list[Any] = []

    @property
    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @property
    def sent(self) -> bool:
        """True once any byte of a request left this machine."""
        return self.bytes_sent > 0

    def attach(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)
            expired = self.expired
        if expired:
            self._cut(connection)

    def expire(self) -> None:
        """The deadline passed: cut every connection the call is using."""
        with self._lock:
            if self.finished:
                return
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            self._cut(connection)

    def finish(self) -> None:
        with self._lock:
            self.finished = True
            self._connections.clear()

    @staticmethod
    def _cut(connection: Any) -> None:
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Watchdog:
    """One daemon thread that expires each watch at its deadline, for every call in the process.

    Watches wait in a heap ordered by deadline; a finished one is dropped when it reaches the
    top (or when finished ones pile up), so a call costs a heap push, not a thread.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Watch]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._finished = 0

    def add(self, watched: Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watched.deadline, next(self._order), watched))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="apiedit-deadlines",
                                                daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watched:
                self._cond.notify()  # earlier than what the thread sleeps towards

    def finish(self, watched: Watch) -> None:
        watched.finish()
        with self._cond:
            self._finished += 1
            if self._finished > 64 and self._finished * 2 > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].finished]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                due: list[Watch] = []
                while self._heap and (self._heap[0][2].finished or self._heap[0][0] <= now):
                    _, _, watched = heapq.heappop(self._heap)
                    if watched.finished:
                        self._finished = max(0, self._finished - 1)
                    else:
                        due.append(watched)
                if due:
                    self._cond.release()
                    try:
                        for watched in due:
                            watched.expire()
                    finally:
                        self._cond.acquire()
                    continue
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_watchdog = _Watchdog()


def _reset_after_fork() -> None:
    global _watchdog
    _watchdog = _Watchdog()  # the parent's thread and lock do not exist in the child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def current_watch() -> Watch | None:
    return getattr(_local, "watch", None)


@contextmanager
def watch(seconds: float) -> Iterator[Watch]:
    """Run the calls inside with a `seconds` deadline for everything they do on the network."""
    outer = current_watch()
    current = Watch(seconds if outer is None else min(seconds, max(outer.remaining, 0.0)))
    watchdog = _watchdog
    _local.watch = current
    watchdog.add(current)
    try:
        yield current
    finally:
        watchdog.finish(current)
        _local.watch = outer
        if outer is not None:
            outer.bytes_sent += current.bytes_sent


class _Reporting:
    """Mixin for urllib3 connections: join the thread's watch, count the bytes written."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        current = current_watch()
        if current is not None:
            current.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def send(self, data: Any) -> Any:
        current = current_watch()
        if current is not None:
            if self.sock is None:  # type: ignore[attr-defined]
                self.connect()  # type: ignore[attr-defined]  # a failed connect sent nothing
            # Counted before writing: a write that fails half-way may still have reached
            # the server, and for billing "maybe sent" must never read as "not sent".
            try:
                current.bytes_sent += max(len(data), 1)
            except TypeError:  # a file-like body
                current.bytes_sent += 1
        return super().send(data)  # type: ignore[misc]


class _HTTPConnection(_Reporting, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Reporting, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter whose connections report to the calling thread's `Watch`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme") and not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
