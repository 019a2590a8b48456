"""Vocabularies: built from the train split only, saved as JSON.

Ids: ``<pad>`` = 0, ``<unk>`` = 1, then tokens by descending train frequency, ties in
order of first appearance (the order Keras' ``Tokenizer`` uses).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnbench.io import write_json_atomic

PAD, UNK = "<pad>", "<unk>"
SPECIALS = (PAD, UNK)


@dataclass
class Vocab:
    tokens: list[str]  # id -> token
    label_names: list[str]  # class id -> label, or tag id -> tag for NER
    max_size: int | None = None
    min_freq: int = 1
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def ids(self, tokens: Iterable[str]) -> list[int]:
        get = self.index.get
        return [get(token, 1) for token in tokens]

    def save(self, path: str | Path) -> None:
        data = asdict(self)
        data.pop("index")
        write_json_atomic(path, data)

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        with open(path, encoding="utf-8") as handle:
            return cls(**json.load(handle))


def build_vocab(
    train_token_lists: Iterable[list[str]],
    label_names: list[str],
    max_size: int | None = None,
    min_freq: int = 1,
) -> Vocab:
    """``max_size`` counts every id, specials included (10000 -> ``Embedding(10000, d)``)."""
    counts: Counter[str] = Counter()
    for tokens in train_token_lists:
        counts.update(tokens)
    for special in SPECIALS:
        counts.pop(special, None)
    limit = None if max_size is None else max_size - len(SPECIALS)
    kept = [tok for tok, n in counts.most_common(limit) if n >= min_freq]
    return Vocab(
        tokens=[*SPECIALS, *kept], label_names=label_names, max_size=max_size, min_freq=min_freq
    )
