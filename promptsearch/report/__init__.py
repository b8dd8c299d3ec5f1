"""Leaderboards as DataFrames, and their renderings (terminal, Markdown)."""

from promptsearch.report.leaderboard import leaderboard, run_leaderboard
from promptsearch.report.render import to_markdown, to_rich_table

__all__ = ["leaderboard", "run_leaderboard", "to_markdown", "to_rich_table"]
