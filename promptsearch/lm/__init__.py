"""Model access: hosted models through litellm; `local/*` models run in-process on llama.cpp
(called directly by promptsearch, and through litellm's `local` provider by DSPy)."""

from promptsearch.lm.client import LM, LOCAL_MODELS, Completion
from promptsearch.lm.local import register


def enable_local_models() -> None:
    """Make `local/...` model strings work in plain litellm (and so in dspy) in this process."""
    import litellm

    register(litellm, LOCAL_MODELS)


__all__ = ["LM", "Completion", "enable_local_models"]
