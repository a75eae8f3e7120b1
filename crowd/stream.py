"""The control room's event stream: the dashboard state computed once per tick for every
open stream of a process, however many there are.

One thread per process (started by the first stream, gone once none is left for a
while) re-evaluates levels and alerts at most once a second, computes the state, and
publishes it when it changed; each stream waits for the next version and writes it.
Thirty open dashboards cost one computation a second, not thirty. Every process of the
live pool runs its own feed from the shared database, so streams work with any number
of processes.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Iterator

log = logging.getLogger("scenic.crowd.stream")


class StateFeed:
    def __init__(self, compute: Callable[[], dict], interval: float, idle_stop: float = 10.0,
                 monotonic=time.monotonic):
        self.compute, self.interval, self.idle_stop = compute, interval, idle_stop
        self._now = monotonic
        self._cond = threading.Condition()
        self.version = 0            # how many distinct states were published
        self.computed = 0           # how many times the state was computed
        self._event: str | None = None
        self._subscribers = 0
        self._idle_since: float | None = None
        self._thread: threading.Thread | None = None

    def _publish_loop(self) -> None:
        last = None
        while True:
            with self._cond:
                if self._subscribers == 0 and self._idle_since is not None and \
                        self._now() - self._idle_since >= self.idle_stop:
                    self._thread = None
                    return
            try:
                state = self.compute()
            except Exception as exc:  # a failed tick must not end every stream
                log.warning("dashboard state failed: %s", exc,
                            extra={"event": "crowd_state_failed"})
                time.sleep(self.interval)
                continue
            self.computed += 1
            fingerprint = json.dumps({k: v for k, v in state.items() if k != "at"},
                                     sort_keys=True, default=str)
            if fingerprint != last:
                last = fingerprint
                event = "event: state\ndata: " + json.dumps(state, ensure_ascii=False,
                                                            default=str) + "\n\n"
                with self._cond:
                    self.version += 1
                    self._event = event
                    self._cond.notify_all()
            time.sleep(self.interval)

    def _join(self) -> None:
        with self._cond:
            self._subscribers += 1
            self._idle_since = None
            if self._thread is None:
                self._thread = threading.Thread(target=self._publish_loop, daemon=True,
                                                name="crowd-state-feed")
                self._thread.start()

    def _leave(self) -> None:
        with self._cond:
            self._subscribers -= 1
            if self._subscribers == 0:
                self._idle_since = self._now()

    def events(self, max_seconds: float, heartbeat: float = 15.0) -> Iterator[str]:
        """Server-Sent Events: each new state, a heartbeat when quiet, "bye" at the end."""
        self._join()
        try:
            started = last_beat = self._now()
            seen = 0
            yield "retry: 2000\n\n"
            while self._now() - started < max_seconds:
                with self._cond:
                    self._cond.wait_for(lambda: self.version > seen,
                                        timeout=min(heartbeat, max(0.05, max_seconds -
                                                                   (self._now() - started))))
                    fresh = self.version > seen
                    seen, event = self.version, self._event
                now = self._now()
                if fresh and event is not None:
                    last_beat = now
                    yield event
                elif now - last_beat >= heartbeat:
                    last_beat = now
                    yield ": heartbeat\n\n"
            yield "event: bye\ndata: {}\n\n"
        finally:
            self._leave()
