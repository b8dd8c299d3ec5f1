"""What a failed model call says about the model: its kind (refused, auth, rate_limit, ...), and
whether the run should stop now rather than spend its budget on errors.

Some failures are not transient and no retry cures them: nothing listening at the address, a
host that does not resolve, a key the API refuses (401/403), a model it does not know (404).
After a few of them the run stops with one line naming the cause and its fix; everything
recorded is kept and `run --resume` goes on once the cause is fixed. A refused connection or
a DNS failure counts as such only while the model has never answered in this process: once it
has, the same error is an outage, retried later and bounded by search.max_error_rate.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from typing import Optional

from promptsearch.errors import ModelUnavailable

FATAL_AFTER = 3  # failures of one such kind before the run stops (a stray one is not enough)
ALWAYS_FATAL = ("auth", "not_found")
FATAL_UNTIL_ANSWERED = ("refused", "dns")
_DNS_WORDS = ("name or service not known", "nodename nor servname", "getaddrinfo failed",
              "temporary failure in name resolution", "no address associated",
              "name resolution")
_BY_CLASS = {"AuthenticationError": "auth", "PermissionDeniedError": "auth",
             "NotFoundError": "not_found", "RateLimitError": "rate_limit",
             "Timeout": "timeout", "APITimeoutError": "timeout",
             "InternalServerError": "server", "ServiceUnavailableError": "server",
             "BadGatewayError": "server", "EmptyCompletion": "empty"}
_BY_STATUS = {401: "auth", 403: "auth", 404: "not_found", 429: "rate_limit"}


def error_kind(exc: BaseException) -> str:
    """A short, stable name for why a call failed (shown to users and counted in the lock).
    litellm reports a refused connection as a 500 "Connection error.": the cause chain says
    what really happened, so it is read before the class name."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status in _BY_STATUS:  # the server answered: reachable
        return _BY_STATUS[status]
    chain = _chain(exc)
    text = " ".join(str(link) for link in chain).lower()
    if any(isinstance(link, socket.gaierror) for link in chain) or \
            any(word in text for word in _DNS_WORDS):
        return "dns"
    if any(isinstance(link, ConnectionRefusedError) for link in chain) or "refused" in text:
        return "refused"
    if any("connection" in type(link).__name__.lower() for link in chain):
        return "connection"
    kind = _BY_CLASS.get(type(exc).__name__)
    if kind:
        return kind
    if isinstance(status, int) and status >= 500:
        return "server"
    return "other"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes: the SDK says "Connection error." and its cause says why."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 8:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


class ModelHealth:
    """Failed calls by kind, the last kind, and whether the model ever answered; thread-safe.
    `check` raises ModelUnavailable once the failures leave nothing worth retrying."""

    def __init__(self, model: str, where: str, api_key_env: Optional[str] = None):
        self.model, self.where, self.api_key_env = model, where, api_key_env
        self.failures: Counter = Counter()
        self.answered = 0
        self.last_kind: Optional[str] = None
        self._lock = threading.Lock()

    def note(self, kind: Optional[str]) -> None:
        """Record one call's outcome (None: answered); raise when the run should stop."""
        with self._lock:
            if kind is None:
                self.answered += 1
                return
            self.failures[kind] += 1
            self.last_kind = kind
            fatal = self.failures[kind] >= FATAL_AFTER and (
                kind in ALWAYS_FATAL or (kind in FATAL_UNTIL_ANSWERED and not self.answered))
        if fatal:
            raise ModelUnavailable(kind, *self.explain(kind))

    def explain(self, kind: str) -> tuple[str, str]:
        """(what happened, the fix) for a kind, naming the endpoint without credentials."""
        where, then = self.where, "then run again with --resume (nothing recorded is lost)"
        return {
            "refused": (f"nothing is listening at {where} (connection refused)",
                        f"start the server or correct lm.api_base, {then}"),
            "dns": (f"the host of {where} does not resolve (DNS failure)",
                    f"correct the host in lm.api_base, {then}"),
            "auth": (f"{where} refuses the API key (401/403)",
                     f"set a valid key in ${self.api_key_env or 'OPENAI_API_KEY'} "
                     f"(lm.api_key_env), {then}"),
            "not_found": (f"{where} does not know model {self.model!r} (404)",
                          f"correct `model:` in the task file, {then}"),
        }.get(kind, (f"calls to {where} fail ({kind})", f"check the model's server, {then}"))

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.failures)
