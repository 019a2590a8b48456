"""Text normalisation and tokenizers.

``spacy``: spaCy's rule-based English tokenizer (``spacy.blank("en")``, no model
download), run in batches. ``basic_english``: torchtext's regex tokenizer, re-implemented
so seed C can be reproduced without the dead torchtext package.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

HTML_TAG = re.compile(r"<[^>]{0,200}>")

# torchtext.data.utils._basic_english_normalize, pattern for pattern (torchtext 0.18).
_BASIC_ENGLISH = [
    (re.compile(r"\'"), " '  "),
    (re.compile(r"\""), ""),
    (re.compile(r"\."), " . "),
    (re.compile(r"<br \/>"), " "),
    (re.compile(r","), " , "),
    (re.compile(r"\("), " ( "),
    (re.compile(r"\)"), " ) "),
    (re.compile(r"\!"), " ! "),
    (re.compile(r"\?"), " ? "),
    (re.compile(r"\;"), " "),
    (re.compile(r"\:"), " "),
    (re.compile(r"\s+"), " "),
]

TOKENIZERS = ("spacy", "basic_english")


def normalize(text: str, lowercase: bool, strip_html: bool) -> str:
    if strip_html:
        text = HTML_TAG.sub(" ", text)
    return text.lower() if lowercase else text


def basic_english(text: str) -> list[str]:
    text = text.lower()
    for pattern, replacement in _BASIC_ENGLISH:
        text = pattern.sub(replacement, text)
    return text.split()


def tokenize_texts(
    texts: Iterable[str], tokenizer: str, batch_size: int = 1000
) -> Iterator[list[str]]:
    """Tokenize many texts, yielding one token list per text in order."""
    if tokenizer == "basic_english":
        yield from map(basic_english, texts)
    elif tokenizer == "spacy":
        import spacy  # imported lazily: it is the slowest import of the data stage
        from spacy.attrs import IDX, IS_SPACE, LENGTH

        nlp = spacy.blank("en")
        for doc in nlp.tokenizer.pipe(texts, batch_size=batch_size):
            # Slicing the text by offsets is ~20% faster than building a Token per word.
            # Runs of whitespace become their own tokens in spaCy; they carry no meaning here.
            text = doc.text
            yield [
                text[start : start + size]
                for start, size, is_space in doc.to_array([IDX, LENGTH, IS_SPACE]).tolist()
                if not is_space
            ]
    else:
        raise ValueError(f"unknown tokenizer {tokenizer!r}; use one of {TOKENIZERS}")


def token_mapper(lowercase: bool) -> Callable[[list[str]], list[str]]:
    """For pre-tokenized (NER) corpora: keep tokens, optionally lowercased."""
    if lowercase:
        return lambda tokens: [t.lower() for t in tokens]
    return list
