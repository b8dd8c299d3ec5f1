"""The proposer requests of the LLM-driven mutators, each as a document (base models) and as a
chat request. Ideas from APE (Zhou et al., 2022), OPRO (Yang et al., 2023), ProTeGi (Pryzant et
al., 2023) and EvoPrompt (Guo et al., 2023); the wording is promptsearch's own."""

from __future__ import annotations

from typing import Sequence

from promptsearch.search.mutators.propose import Request

Pair = tuple[str, str]  # (input text, output text)


def _pairs(pairs: Sequence[Pair]) -> str:
    return "".join(f"Input: {source}\nOutput: {target}\n\n" for source, target in pairs)


def induce(pairs: Sequence[Pair]) -> Request:
    """APE: infer the instruction from input/output pairs."""
    document = ("I gave a friend an instruction and some inputs. The friend read the instruction "
                "and wrote an output for every one of the inputs. Here are the input-output "
                f"pairs:\n\n{_pairs(pairs)}The instruction was:")
    chat = (f"Here are input-output pairs of one task:\n\n{_pairs(pairs)}Write the instruction "
            "that turns each input into its output. Reply with the instruction only.")
    return Request(document, chat)


def optimise(scored: Sequence[tuple[str, float]], pairs: Sequence[Pair],
             notes: Sequence[str] = ()) -> Request:
    """OPRO: earlier instructions with their scores, worst first, then what the metric said
    about the best one's wrong answers (when it says anything), then a few task examples."""
    history = "".join(f"Instruction: {text}\nScore: {round(score * 100)}\n\n"
                      for text, score in scored)
    said = ("What the scorer said about the best instruction's wrong answers:\n"
            + "".join(f"- {note}\n" for note in notes) + "\n") if notes else ""
    document = ("Below are instructions for a task, each with its score out of 100 (higher is "
                f"better).\n\n{history}{said}Examples of the task:\n\n{_pairs(pairs)}"
                "A new instruction, different from all the ones above, that scores higher:\n"
                "Instruction:")
    chat = (f"Instructions for a task with their scores out of 100, worst first:\n\n{history}"
            f"{said}Examples of the task:\n\n{_pairs(pairs)}Write a new instruction, "
            "different from all of the above, that will score higher. Reply with the "
            "instruction only.")
    return Request(document, chat)


Miss = tuple  # (input text, expected, got) or (input text, expected, got, the scorer's feedback)


def _errors(errors: Sequence[Miss]) -> str:
    """Each wrong answer; with the metric's feedback, that in place of a bare wrong answer."""
    return "".join(f"Input: {miss[0]}\nExpected: {miss[1]}\nGot: {miss[2]}\n"
                   + (f"Feedback: {miss[3]}\n" if len(miss) > 3 and miss[3] else "") + "\n"
                   for miss in errors)


def critique(instruction: str, errors: Sequence[Miss]) -> Request:
    """ProTeGi's textual gradient: why does the instruction fail on these examples?"""
    document = (f"Instruction: {instruction}\n\nA model following this instruction got these "
                f"examples wrong:\n\n{_errors(errors)}The main reason the instruction fails on "
                "these examples is that")
    chat = (f"A model following the instruction \"{instruction}\" got these examples wrong:"
            f"\n\n{_errors(errors)}In one sentence: why does the instruction fail on them?")
    return Request(document, chat, max_tokens=60)


def edit(instruction: str, errors: Sequence[Miss], reason: str) -> Request:
    """ProTeGi's step: rewrite the instruction to fix the stated problem."""
    document = (f"Instruction: {instruction}\n\nIt got these examples wrong:\n\n{_errors(errors)}"
                f"The problem: {reason.strip()}\n\nAn improved instruction that fixes the "
                "problem:\nInstruction:")
    chat = (f"The instruction \"{instruction}\" got these examples wrong:\n\n{_errors(errors)}"
            f"The problem: {reason.strip()}\nWrite an improved instruction that fixes it. Reply "
            "with the instruction only.")
    return Request(document, chat)


def crossover(first: str, second: str) -> Request:
    """EvoPrompt (GA): combine two parent instructions, then change one part of the child."""
    document = ("Instruction A: Sort the list of words alphabetically.\nInstruction B: Put the "
                "words in order and write them on one line.\nCombined and varied: Write the words "
                "on one line, in alphabetical order.\n\n"
                f"Instruction A: {first}\nInstruction B: {second}\nCombined and varied:")
    chat = (f"Combine these two task instructions into one new instruction, then change one part "
            f"of it to try a variation.\n\nA: {first}\nB: {second}\n\nReply with the new "
            "instruction only.")
    return Request(document, chat)


def differential(base: str, first: str, second: str, best: str) -> Request:
    """EvoPrompt (DE): change the parts where two members differ, graft them onto the best
    instruction, then cross the result with the member being replaced."""
    document = ("Instruction 1: Sort the words alphabetically.\nInstruction 2: Sort the words "
                "by length.\nBest instruction: Write the words on one line, in order.\nCurrent "
                "instruction: List the words.\nNew instruction, the best one varied where 1 and "
                "2 differ, mixed with the current one: List the words on one line, ordered from "
                "A to Z.\n\n"
                f"Instruction 1: {first}\nInstruction 2: {second}\nBest instruction: {best}\n"
                f"Current instruction: {base}\nNew instruction, the best one varied where 1 "
                "and 2 differ, mixed with the current one:")
    chat = ("Write a new task instruction in four steps. 1. Find the parts where instruction 1 "
            "and instruction 2 differ. 2. Change those parts. 3. Put the changed parts into the "
            "best instruction. 4. Mix the result with the current instruction.\n\n"
            f"Instruction 1: {first}\nInstruction 2: {second}\nBest instruction: {best}\n"
            f"Current instruction: {base}\n\nReply with the final instruction only.")
    return Request(document, chat)

