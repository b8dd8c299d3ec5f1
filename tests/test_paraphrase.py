import pytest

from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.lm.client import Completion
from promptsearch.search.mutators.paraphrase import clean, paraphrase_prompt, paraphrases

SEED = "Write the antonym of the word."


@pytest.mark.parametrize("text, kept", [
    (" Give the opposite of the word.\nInstruction: x", "Give the opposite of the word."),
    ("1. Write the antonym of the word.", None),           # a numbered copy
    ("Write the antonym of the word", None),               # a copy without the period
    ("", None), ("   \n  ", None), ("word", None),         # empty, too short
    ("I think the answer is unclear", None),               # chatter
    ("Rewritten: Give the opposite word.", None),          # echoes the prompt's layout
    ("Put the numbers in ascending order.", None),         # copies the prompt's own example
    ("Bake a cake with three eggs.", None),                # shares nothing with the seed
    ("Use {{ word }} here for the antonym", None),         # template syntax
])
def test_clean_keeps_only_new_instructions(text, kept):
    assert clean(text, SEED) == kept


def test_clean_capitalises_and_strips_list_markers():
    assert clean("- give the opposite word", SEED) == "Give the opposite word"


def test_prompts_differ_per_variant_and_end_with_the_seed():
    prompts = {paraphrase_prompt(SEED, variant) for variant in range(4)}
    ending = f"Instruction: {SEED}\nRewritten:"
    assert len(prompts) == 4 and all(p.endswith(ending) for p in prompts)


class EchoProposer:
    default_style = "completion"
    model = "scripted"

    def __init__(self, replies):
        self.replies = list(replies)

    def complete(self, **request):
        return Completion(self.replies.pop(0), prompt_tokens=5, completion_tokens=3)


def test_proposer_calls_are_taken_from_the_budget_and_filtered():
    meter = BudgetMeter(lm_calls=3)
    proposer = EchoProposer([" Give the opposite of the word.",
                             " 1. Write the antonym of the word.",
                             " Give the opposite of the word.", " never asked"])
    found = paraphrases(proposer, SEED, meter)
    assert found == ["Give the opposite of the word."]
    assert meter.spent.lm_calls == 3 and meter.spent.proposer_calls == 3
    assert meter.spent.tokens == 24
