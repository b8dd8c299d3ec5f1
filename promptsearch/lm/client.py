"""One model behind litellm: cached, retried, counted. Every model call goes through here."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Optional

from promptsearch.core.secrets import api_key, redact, redact_url, url_secrets
from promptsearch.errors import InputError
from promptsearch.lm.health import ModelHealth, error_kind
from promptsearch.lm.local import PROVIDER, LocalModels, default_style, register

# litellm fetches a price table over the network at import unless told not to; this machine
# (and many users') has no such access, and the local table is good enough for token counts.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

OPENAI_COMPATIBLE = ("openai/", "text-completion-openai/")  # reached with a reused SDK client
LOCAL_MODELS = LocalModels()  # loaded weights are shared by every LM object in the process
_RETRYABLE = ("RateLimitError", "Timeout", "APIConnectionError", "InternalServerError",
              "ServiceUnavailableError", "BadGatewayError", "APIError", "EmptyCompletion")


class EmptyCompletion(Exception):
    """A hosted model's reply held no text."""


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    error: Optional[str] = None
    attempts: int = 1  # requests sent: 1 + retries
    error_kind: Optional[str] = None  # refused, auth, rate_limit, ... (lm.health.error_kind)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class CallCounter:
    """Real model calls (cache misses) and their tokens; thread-safe."""

    model_calls: int = 0
    tokens: int = 0
    errors: int = 0          # calls that failed after every retry
    retried_calls: int = 0   # calls whose first request failed
    retries: int = 0         # requests sent again
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, completion: Completion) -> None:
        with self._lock:
            self.model_calls += 1
            self.tokens += completion.tokens
            self.errors += completion.error is not None
            self.retried_calls += completion.attempts > 1
            self.retries += completion.attempts - 1


class LM:
    """A litellm model string plus how to call it. `cache` is a Store (or None)."""

    def __init__(self, model: str, *, cache=None, api_base: Optional[str] = None,
                 timeout: float = 60, retries: int = 3, threads: int = 2,
                 backoff: float = 1.0, api_key_env: Optional[str] = None):
        self.model, self.cache, self.api_base = model, cache, api_base
        self.api_key_env = api_key_env
        self._client = None
        self._client_lock = threading.Lock()
        self.timeout, self.retries, self.threads, self.backoff = timeout, retries, threads, backoff
        self.counter = CallCounter()
        self.health = ModelHealth(model, self.where, api_key_env)
        self._identity: Optional[str] = None

    @property
    def where(self) -> str:
        """The endpoint as users may see it: no credentials."""
        if self.is_local:
            return f"the embedded model {self.local_name}"
        return redact_url(self.api_base) or f"{self.model}'s default endpoint"

    @property
    def is_local(self) -> bool:
        return self.model.startswith(PROVIDER + "/")

    @property
    def local_name(self) -> str:
        return self.model.removeprefix(PROVIDER + "/")

    @property
    def default_style(self) -> str:
        return default_style(self.local_name) if self.is_local else "chat"

    @property
    def default_concurrency(self) -> int:
        return 1 if self.is_local else 8

    def identity(self) -> str:
        """What the cache keys on: the weights' hash for local models, provider+base otherwise."""
        if self._identity is None:
            if self.is_local:
                self._identity = "sha256:" + LOCAL_MODELS.resolve(self.local_name)[1]
            else:
                self._identity = f"{self.model}@{redact_url(self.api_base) or 'default'}"
        return self._identity

    def warm(self) -> None:
        """Load now what the first call would: a local model's weights, or litellm (its import
        takes seconds). A shared run's worker warms up before it joins: inside its first trial
        it held a reservation and a claim for ten seconds on a loaded machine, doing nothing."""
        if self.is_local:
            LOCAL_MODELS.get(self.local_name, self.threads)
        else:
            self._litellm()

    def _litellm(self):
        """litellm, with the local provider registered, quiet about failed calls."""
        import litellm

        register(litellm, LOCAL_MODELS, self.model)
        # litellm prints a "Give Feedback / Get Help" banner to stdout on every failed call;
        # errors here are retried, counted and reported by promptsearch instead.
        litellm.suppress_debug_info = True
        return litellm

    def complete(self, *, prompt: Optional[str] = None, messages: Optional[list] = None,
                 max_tokens: int = 48, stop: Optional[list[str]] = None,
                 temperature: float = 0.0, seed: Optional[int] = None) -> Completion:
        """One completion; `seed` makes sampling (temperature > 0) reproducible where the
        backend supports it. Everything in the request is part of the cache key."""
        request = {"prompt": prompt, "messages": messages, "max_tokens": max_tokens,
                   "stop": list(stop or []), "temperature": temperature}
        if seed is not None:
            request["seed"] = seed
        return self._cached(request, self._call_with_retries)

    def continuation_logprobs(self, prompt: str, continuations: list[str]) -> Completion:
        """Each continuation's log-probability after `prompt`, as a JSON list in the text
        (label likelihoods). Only in-process llama.cpp models expose them here; cached."""
        request = {"prompt": prompt, "continuations": list(continuations), "kind": "logprobs"}
        return self._cached(request, self._score_locally)

    def _score_locally(self, request: dict) -> Completion:
        if not self.is_local:
            raise InputError(f"{self.model} gives no log-probabilities here", field="prompt.answer",
                             fix="use a local model (local/NAME), or prompt.answer: generate")
        try:
            scores, prompt_tokens = LOCAL_MODELS.continuation_logprobs(
                self.local_name, request["prompt"], request["continuations"], self.threads)
        except Exception as exc:  # llama.cpp's (a prompt too long for the context, ...)
            message = (str(exc).splitlines() or [""])[0][:300]
            return Completion("", error=f"{type(exc).__name__}: {message}",
                              error_kind=error_kind(exc))
        return Completion(json.dumps(scores), prompt_tokens, 0)

    def _cached(self, request: dict, call) -> Completion:
        cache_key = self._cache_key(request)
        if self.cache is not None:
            hit = self.cache.cache_get(cache_key)
            if hit is not None:
                return Completion(hit["text"], hit["prompt_tokens"], hit["completion_tokens"],
                                  cached=True)
        result = call(request)
        self.counter.add(result)
        self.health.note(result.error_kind)  # raises once retrying is pointless
        if self.cache is not None and result.error is None:
            self.cache.cache_put(key=cache_key, model_id=self.identity()[:200], text=result.text,
                                 prompt_tokens=result.prompt_tokens,
                                 completion_tokens=result.completion_tokens)
        return result

    def _cache_key(self, request: dict) -> str:
        body = json.dumps({"model": self.identity(), **request}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(body.encode()).hexdigest()

    def _call_with_retries(self, request: dict) -> Completion:
        attempt = 0
        while True:
            try:
                completion = self._call(request)
                if completion.text == "" and not self.is_local and attempt < self.retries:
                    # A hosted API replying with no text at all may be a glitch: ask again. The
                    # same empty reply after every retry is the model's answer (at temperature
                    # 0 a model that stops at once, e.g. on a stop sequence, always will): an
                    # answer, scored as unparseable, not an error that would hold its key back.
                    raise EmptyCompletion("the API returned an empty completion")
                return replace(completion, attempts=attempt + 1)
            except Exception as exc:  # litellm maps every provider's errors to its own classes
                name = type(exc).__name__
                if name not in _RETRYABLE or attempt >= self.retries:
                    message = redact((str(exc).splitlines() or [""])[0][:300], self.secrets())
                    return Completion("", error=f"{name}: {message}", attempts=attempt + 1,
                                      error_kind=error_kind(exc))
                time.sleep(self._delay(exc, attempt))
                attempt += 1

    def _call_local(self, request: dict) -> Completion:
        """An in-process model is called directly: through litellm its request and response
        objects, logging and cost lookup took ~8 ms a call, a tenth of a short call on the
        embedded model (benchmarks/throughput.py). DSPy and other litellm users still reach
        it as litellm's `local` provider, which runs the same generate()."""
        text, prompt_tokens, completion_tokens = LOCAL_MODELS.generate(
            self.local_name, prompt=request["prompt"], messages=request["messages"],
            max_tokens=request["max_tokens"], temperature=request["temperature"],
            stop=request["stop"], threads=self.threads, seed=request.get("seed"))
        return Completion(text, prompt_tokens, completion_tokens)

    def _openai_client(self):
        """One OpenAI SDK client per LM for OpenAI-compatible endpoints, shared by its threads:
        given none, litellm builds one per call and loads the CA certificates each time
        (about 70 ms a call, measured in benchmarks/throughput.py)."""
        with self._client_lock:
            if self._client is None:
                import openai

                key = api_key(self.api_key_env) or os.environ.get("OPENAI_API_KEY") or "unused"
                self._client = openai.OpenAI(base_url=self.api_base, api_key=key,
                                             timeout=self.timeout, max_retries=0)
            return self._client

    def secrets(self) -> list[str]:
        """What must never be written anywhere: the API key and credentials in api_base."""
        return [value for value in [api_key(self.api_key_env), *url_secrets(self.api_base)]
                if value]

    def _delay(self, exc: Exception, attempt: int) -> float:
        retry_after = getattr(getattr(exc, "response", None), "headers", {}) or {}
        try:
            return min(60.0, float(retry_after.get("retry-after")))
        except (TypeError, ValueError):
            return self.backoff * (2 ** attempt) * (0.5 + random.random() / 2)

    def _call(self, request: dict) -> Completion:
        if self.is_local:
            return self._call_local(request)
        litellm = self._litellm()
        common = {"model": self.model, "max_tokens": request["max_tokens"],
                  "temperature": request["temperature"], "timeout": self.timeout,
                  "num_retries": 0}
        if request["stop"]:
            common["stop"] = request["stop"]
        if self.api_base:
            common["api_base"] = self.api_base
        if self.api_key_env:
            common["api_key"] = api_key(self.api_key_env)
        if "seed" in request:
            common["seed"] = request["seed"]
            common["drop_params"] = True  # providers without seeds still answer
        if self.model.startswith(OPENAI_COMPATIBLE):
            common["client"] = self._openai_client()
        if request["prompt"] is not None:
            response = litellm.text_completion(prompt=request["prompt"], **common)
            text = response.choices[0].text or ""
        else:
            response = litellm.completion(messages=request["messages"], **common)
            text = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        return Completion(text, int(getattr(usage, "prompt_tokens", 0) or 0),
                          int(getattr(usage, "completion_tokens", 0) or 0))
