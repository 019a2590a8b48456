"""Label consent: no class is invented by a stray row.

A sentiment label becomes a class only with the config's consent (declared under the
reader options' ``labels``, or as a value of ``label_map``; a ``lines`` corpus declares
its classes by its ``classes`` keys, aclImdb by its directories) or when it holds a
plausible share of its file: at least ``max(MIN_LABEL_ROWS, MIN_LABEL_SHARE * rows)``
rows. An empty label, or two labels that differ only in case or whitespace, is never a
class unless the config says so (``labels: {case_insensitive: true}`` merges the variants
into the declared, else the most frequent, spelling). Each refusal names the file, the
label, its count, the first rows where it occurs and its likely cause.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rnnbench.data.readers import excerpt
from rnnbench.errors import DataError

MIN_LABEL_ROWS = 3
MIN_LABEL_SHARE = 0.005
SHOWN_ROWS = 5

CAUSES = (
    "an empty label cell, a repeated header line (two files concatenated), a shifted column "
    "(a text holding an unquoted delimiter, so the label column reads part of it) or a case "
    "variant of another label"
)


def declared_labels(options: dict | None) -> tuple[list[str] | None, bool]:
    """``(names, case_insensitive)`` of the reader options: ``labels`` is a list of names or
    ``{names: [...], case_insensitive: bool}``; without names, ``label_map``'s values."""
    options = options or {}
    labels = options.get("labels")
    names, case_insensitive = None, False
    if isinstance(labels, list):
        names = labels
    elif isinstance(labels, dict):
        names = labels.get("names")
        case_insensitive = bool(labels.get("case_insensitive", False))
    if names is None and options.get("label_map") is not None:
        names = list(options["label_map"].values())
    return (None if names is None else [str(n) for n in names]), case_insensitive


def spelling_key(label: str) -> str:
    """What a case or whitespace variant shares with its label."""
    return re.sub(r"\s+", "", label).casefold()


def minimum_rows(total: int) -> int:
    """The fewest rows an undeclared label needs in a file of ``total`` rows."""
    return max(MIN_LABEL_ROWS, int(-(-MIN_LABEL_SHARE * total // 1)))


def _rows_of(label: str, labels: Sequence[str], where: Sequence[str]) -> tuple[int, str]:
    places = [w for lab, w in zip(labels, where, strict=True) if lab == label]
    shown = ", ".join(places[:SHOWN_ROWS]) + (" ..." if len(places) > SHOWN_ROWS else "")
    return len(places), shown


def _cause(label: str, others: Sequence[str], header_label: str | None) -> str:
    if label == "":
        return "an empty label cell"
    if header_label is not None and spelling_key(label) == spelling_key(header_label):
        return "a repeated header line (two files concatenated?)"
    variants = [o for o in others if o != label and spelling_key(o) == spelling_key(label)]
    if variants:
        return f"a case or whitespace variant of {excerpt(variants[0])}"
    return "a shifted column or a stray row"


def check_labels(
    path: object,
    labels: Sequence[str],
    where: Sequence[str],
    options: dict | None,
    header_label: str | None = None,
) -> list[str]:
    """The labels of one file's rows, checked for consent (module doc); ``where`` names each
    row (``line 12``, a member). Returns them with case variants merged where the options
    allow it; raises DataError otherwise."""
    names, case_insensitive = declared_labels(options)
    counts = Counter(labels)
    empty = counts.get("", 0)
    if empty:
        _, shown = _rows_of("", labels, where)
        raise DataError(
            f"{path}: {empty} row(s) have an empty label ({shown}); an empty label is never a "
            "class: fill in those labels or drop the rows"
        )
    merge = _merge_map(path, labels, where, counts, names, case_insensitive, header_label)
    merged = [merge.get(label, label) for label in labels]
    if names is None:
        _check_shares(path, merged, where, header_label)
    return merged


def _merge_map(
    path: object,
    labels: Sequence[str],
    where: Sequence[str],
    counts: Counter,
    names: list[str] | None,
    case_insensitive: bool,
    header_label: str | None,
) -> dict[str, str]:
    """``{variant: spelling}`` for the variants the options merge; refuses the others."""
    merge: dict[str, str] = {}
    if names is not None:
        canonical = {spelling_key(n): n for n in names}
        for label in sorted(counts):
            if label in names:
                continue
            count, shown = _rows_of(label, labels, where)
            declared = canonical.get(spelling_key(label))
            if declared is not None and case_insensitive:
                merge[label] = declared
                continue
            if declared is not None:
                raise DataError(
                    f"{path}: label {excerpt(label)} ({count} rows: {shown}) differs from the "
                    f"declared label {excerpt(declared)} only in case or whitespace; fix the "
                    "file, or merge the spellings with `options: {labels: {names: [...], "
                    "case_insensitive: true}}`"
                )
            raise DataError(
                f"{path}: label {excerpt(label)} ({count} rows: {shown}) is not a declared "
                f"label {sorted(names)}; likely cause: {_cause(label, names, header_label)} "
                f"(in general: {CAUSES}). Fix those rows, or declare the label under "
                "`options: {labels: [...]}` (or label_map)"
            )
        return merge
    groups: dict[str, list[str]] = {}
    for label in counts:
        groups.setdefault(spelling_key(label), []).append(label)
    for spellings in groups.values():
        if len(spellings) < 2:
            continue
        spellings.sort(key=lambda s: (-counts[s], s))
        if not case_insensitive:
            first, second = spellings[:2]
            raise DataError(
                f"{path}: labels {excerpt(first)} ({counts[first]} rows) and {excerpt(second)} "
                f"({counts[second]} rows: {_rows_of(second, labels, where)[1]}) differ only in "
                "case or whitespace, which would make them two classes; fix the file, declare "
                "the labels (`options: {labels: [...]}`), or merge the spellings with "
                "`options: {labels: {case_insensitive: true}}`"
            )
        merge.update({s: spellings[0] for s in spellings[1:]})
    return merge


def _check_shares(
    path: object, labels: Sequence[str], where: Sequence[str], header_label: str | None
) -> None:
    counts = Counter(labels)
    need = minimum_rows(len(labels))
    rare = sorted((c, label) for label, c in counts.items() if c < need)
    if not rare:
        return
    count, label = rare[0]
    _, shown = _rows_of(label, labels, where)
    others = [lab for lab in counts if lab != label]
    raise DataError(
        f"{path}: label {excerpt(label)} occurs in only {count} of {len(labels)} rows "
        f"({shown}), fewer than {need} (max({MIN_LABEL_ROWS}, {MIN_LABEL_SHARE:.1%} of the "
        f"rows)), so it is refused as a class; likely cause: {_cause(label, others, header_label)} "
        f"(in general: {CAUSES}). If it is a real class, declare the labels: "
        f"`options: {{labels: {sorted(counts)[:10]}}}`"
    )
