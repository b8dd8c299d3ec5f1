"""Scoring keys under a budget: the Evaluator, racing, confirmation on held-back examples and
the budget meter."""

from promptsearch.evaluation.budget import BudgetMeter
from promptsearch.evaluation.evaluate import Evaluator, KeyScore

__all__ = ["BudgetMeter", "Evaluator", "KeyScore"]
