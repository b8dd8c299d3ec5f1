"""A task: its task.yaml (validated, frozen) and its data (loaded, cleaned, split)."""

from promptsearch.task.config import Task, load_task
from promptsearch.task.data import Dataset, Example, load_dataset

__all__ = ["Task", "load_task", "Dataset", "Example", "load_dataset"]
