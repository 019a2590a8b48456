"""One :class:`Task` per task: everything that differs between sentiment, NER and memory.

Code that must behave differently per task asks the task (``task_of(name).tags_tokens``)
instead of comparing its name, so a new task is one entry here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Plot kinds every dataset gets; a task adds its own (Task.plot_kinds).
COMMON_PLOT_KINDS: tuple[str, ...] = (
    "heatmap",
    "learning_curves",
    "metric_vs_length",
    "metric_vs_cost",
)


@dataclass(frozen=True)
class Task:
    name: str
    formats: frozenset[str]  # the config formats that serve it
    headline: str  # the validation metric for early stopping, tuning and ranking
    # the keys of metrics.json's test (and validation) scores, per-type scores aside:
    # rnnbench.metrics's scores plus the loss (a test keeps them in step)
    test_metrics: tuple[str, ...]
    tags_tokens: bool  # one label per token (a tagging head), not one per example
    generated: bool  # made by rnnbench (no sources, own splits), not read from files
    history_extra: tuple[str, ...]  # history.csv columns beyond loss and headline
    chance: float | None  # the headline metric's chance level, where it is a constant
    # text.lowercase's default: sentiment folds case; NER keeps it (case marks names)
    lowercase: bool
    # a cell reports the fraction of its seeds that solve the task (test accuracy at or
    # above analysis.stats.SOLVED_ACCURACY) and the dependency it spans, in steps
    reports_solved: bool
    extra_plot_kinds: tuple[str, ...] = ()

    def output_units(self, num_classes: int) -> int:
        """The head's outputs: one logit for a two-class label per example (a binary
        loss), else one per class (or tag)."""
        return 1 if not self.tags_tokens and num_classes == 2 else num_classes

    def history_columns(self) -> list[str]:
        """history.csv's columns, one row per epoch (rnnbench.train.loop writes it)."""
        return [
            "epoch",
            "train_loss",
            "val_loss",
            f"val_{self.headline}",
            *self.history_extra,
            "seconds",
        ]

    @property
    def plot_kinds(self) -> tuple[str, ...]:
        return (*COMMON_PLOT_KINDS, *self.extra_plot_kinds)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "sentiment",
            frozenset({"aclimdb", "sentiment_table", "jsonl", "lines"}),
            headline="accuracy",
            test_metrics=("loss", "accuracy", "f1", "auc"),
            tags_tokens=False,
            generated=False,
            history_extra=("val_f1", "val_auc"),
            chance=0.5,
            lowercase=True,
            reports_solved=False,
        ),
        Task(
            "ner",
            frozenset({"gmb_csv", "conll"}),
            headline="entity_f1",
            test_metrics=(
                "loss",
                "token_accuracy",
                "non_o_accuracy",
                "entity_precision",
                "entity_recall",
                "entity_f1",
                "strict_entity_precision",
                "strict_entity_recall",
                "strict_entity_f1",
            ),
            tags_tokens=True,
            generated=False,
            history_extra=(
                "val_token_accuracy",
                "val_non_o_accuracy",
                "val_entity_precision",
                "val_entity_recall",
                "val_strict_entity_f1",
            ),
            chance=None,
            lowercase=False,
            reports_solved=False,
            extra_plot_kinds=("entity_f1_per_type",),
        ),
        Task(
            "memory",
            frozenset({"synthetic"}),
            headline="accuracy",
            test_metrics=("loss", "accuracy"),
            tags_tokens=False,
            generated=True,
            history_extra=(),
            chance=0.5,
            lowercase=False,
            reports_solved=True,
        ),
    )
}
# A grid with grid.train_sizes (any task) also draws the metric vs its training-set size.
SIZE_PLOT_KIND = "metric_vs_train_size"
ALL_PLOT_KINDS: tuple[str, ...] = tuple(
    dict.fromkeys([*(kind for task in TASKS.values() for kind in task.plot_kinds), SIZE_PLOT_KIND])
)


def task_of(name: str) -> Task:
    """The task called ``name``; a ValueError naming the known ones otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; use one of {list(TASKS)}") from None


def reports_solved(tasks: Iterable[object]) -> bool:
    """Whether every one of ``tasks`` (names, as runs.csv's task column holds them) is
    known and reports a solved fraction (:attr:`Task.reports_solved`); an unknown name or
    an empty column does not."""
    names = [str(name) for name in tasks]
    return bool(names) and all(name in TASKS and TASKS[name].reports_solved for name in names)
