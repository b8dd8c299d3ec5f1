"""What a call will cost before it is made: tokens of a prompt, and dollars where litellm's price
table knows the model (local models and unknown servers have no price)."""

from __future__ import annotations

from typing import Optional

from promptsearch.lm.local import PROVIDER


def count_tokens(model: str, *, prompt: Optional[str] = None,
                 messages: Optional[list[dict]] = None) -> int:
    """litellm's count: the model's own tokenizer where litellm has it, else a common BPE (an
    estimate within some tens of percent for other models, which is what a plan needs)."""
    import litellm

    name = model.removeprefix(PROVIDER + "/")
    if messages is not None:
        return int(litellm.token_counter(model=name, messages=messages))
    return int(litellm.token_counter(model=name, text=prompt or ""))


def dollars(model: str, prompt_tokens: int, completion_tokens: int) -> Optional[float]:
    """The price of one call in USD, or None where the model has no known price."""
    if model.startswith(PROVIDER + "/"):
        return None
    import litellm

    try:
        prompt_cost, completion_cost = litellm.cost_per_token(
            model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    except Exception:  # litellm raises its own errors for models missing from its table
        return None
    total = float(prompt_cost) + float(completion_cost)
    return total if total > 0 else None
