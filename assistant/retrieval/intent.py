"""What kind of answer a question wants (``metadata``, ``responsibility``, ``deadline`` or ``fact``), from a
linear model over the character n-grams of its normalised text, fitted by ``python -m eval fit intent`` on the
train questions' types (``resources/intent.json``). Prediction needs only numpy: the artifact holds the n-gram
vocabulary with its idf and the coefficients of each class."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

ARTIFACT = "intent.json"
INTENTS = ("deadline", "fact", "metadata", "responsibility")
_WHITESPACE_RE = re.compile(r"\s\s+")


def char_ngrams(text: str, low: int, high: int) -> Counter[str]:
    """Character n-grams of ``text`` as scikit-learn's ``char`` analyser makes them (lower case, whitespace runs
    collapsed to one space, no padding)."""
    text = _WHITESPACE_RE.sub(" ", text.lower())
    return Counter(text[i : i + n] for n in range(low, high + 1) for i in range(len(text) - n + 1))


@dataclass(frozen=True)
class IntentModel:
    ngram: tuple[int, int]
    vocabulary: dict[str, int]
    idf: np.ndarray
    classes: tuple[str, ...]
    coef: np.ndarray
    """One row per class."""
    intercept: np.ndarray

    def scores(self, text: str) -> dict[str, float]:
        x = np.zeros(len(self.vocabulary))
        for gram, count in char_ngrams(text, *self.ngram).items():
            at = self.vocabulary.get(gram)
            if at is not None:
                x[at] = (1.0 + np.log(count)) * self.idf[at]  # sublinear tf × idf
        norm = np.linalg.norm(x)
        if norm:
            x /= norm
        return dict(zip(self.classes, (self.coef @ x + self.intercept).tolist(), strict=True))

    def predict(self, text: str) -> str:
        scores = self.scores(text)
        return max(scores, key=scores.get)

    def to_dict(self) -> dict:
        terms = sorted(self.vocabulary, key=self.vocabulary.get)
        return {"ngram": list(self.ngram), "vocabulary": terms, "idf": [round(float(v), 6) for v in self.idf],
                "classes": list(self.classes), "coef": [[round(float(v), 6) for v in row] for row in self.coef],
                "intercept": [round(float(v), 6) for v in self.intercept]}

    @classmethod
    def from_dict(cls, data: dict) -> IntentModel:
        classes = tuple(data["classes"])
        if set(classes) - set(INTENTS):
            raise ValueError(f"intent model classes {classes} are not among {INTENTS}")
        return cls(tuple(data["ngram"]), {t: i for i, t in enumerate(data["vocabulary"])}, np.array(data["idf"]),
                   classes, np.array(data["coef"]), np.array(data["intercept"]))

    @classmethod
    def load(cls, path: Path | None = None) -> IntentModel | None:
        """The model of ``path``, else the shipped one; None when none ships (the rules decide)."""
        if path is not None:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        shipped = resources.files("assistant").joinpath("resources").joinpath(ARTIFACT)
        return cls.from_dict(json.loads(shipped.read_text(encoding="utf-8"))) if shipped.is_file() else None
