"""Per-process rate limits (per API key, per source address) and the back-off after failed secrets.

Hand-written on purpose, about forty lines: pyrate-limiter 4 (already installed) keeps a log of every request
of the window per bucket (memory grows with the rate), needs a custom bucket factory to get one bucket per key
plus a leaker thread, and its non-blocking call answers only yes/no, so ``Retry-After`` would need its bucket
internals. A GCRA token bucket is O(1) per key and gives the exact wait.

State lives in the process: with several API processes each enforces its own limits (the effective limit is
the per-process limit times the number of processes behind the balancer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBuckets:
    """One GCRA bucket per name: ``rate`` per second, ``burst`` requests at once; thread-safe."""

    clock: Callable[[], float] = time.monotonic
    max_names: int = 100_000
    _tat: dict[str, float] = field(default_factory=dict)  # theoretical arrival time per name
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, name: str, rate: float, burst: float) -> float:
        """Take one token for ``name``: 0.0 when allowed, else the seconds to wait before the next one."""
        now = self.clock()
        interval = 1.0 / rate
        tolerance = interval * max(burst - 1.0, 0.0)
        with self._lock:
            tat = max(self._tat.get(name, now), now)
            if tat - now > tolerance:
                return tat - now - tolerance
            if len(self._tat) >= self.max_names:
                self._prune(now)
            self._tat[name] = tat + interval
            return 0.0

    def _prune(self, now: float) -> None:
        # Buckets whose arrival time has passed are full again: forgetting them changes nothing.
        for stale in [n for n, t in self._tat.items() if t <= now]:
            del self._tat[stale]
        if len(self._tat) >= self.max_names:  # under a flood of distinct names: drop the oldest half
            for stale in sorted(self._tat, key=self._tat.__getitem__)[: len(self._tat) // 2]:
                del self._tat[stale]


@dataclass
class FailedSecrets:
    """Failed secrets per key id: after ``threshold`` failures in ``window`` s, refuse the id for a back-off
    that doubles with every further attempt (1 s, 2 s, 4 s, ... up to ``max_lockout`` s). An attempt made
    during the back-off counts as a failure, whatever its secret: a guesser cannot keep trying at the rate
    of the back-off, and a client that honours ``Retry-After`` is not affected."""

    threshold: int
    window: float
    max_lockout: float
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_for(self, key_id: str) -> float:
        """Seconds left of the key id's back-off (0.0 when it may try)."""
        with self._lock:
            return max(0.0, self._locked_until.get(key_id, 0.0) - self.clock())

    def failed(self, key_id: str) -> float:
        """Record a failed secret; return the back-off it starts (0.0 while under the threshold)."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._failures.get(key_id, []) if now - t < self.window]
            recent.append(now)
            self._failures[key_id] = recent[-(self.threshold + 32) :]
            over = len(recent) - self.threshold
            if over <= 0:
                return 0.0
            lockout = min(self.max_lockout, 2.0 ** min(over - 1, 30))
            self._locked_until[key_id] = now + lockout
            if len(self._failures) > 100_000:
                self._forget(now)
            return lockout

    def succeeded(self, key_id: str) -> None:
        """A correct secret clears the key id's failures."""
        with self._lock:
            self._failures.pop(key_id, None)
            self._locked_until.pop(key_id, None)

    def _forget(self, now: float) -> None:
        for key_id in [k for k, ts in self._failures.items() if not ts or now - ts[-1] >= self.window]:
            self._failures.pop(key_id, None)
            if self._locked_until.get(key_id, 0.0) <= now:
                self._locked_until.pop(key_id, None)
