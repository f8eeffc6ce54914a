"""From retrieved clauses to an answer: the evidence check (:mod:`.evidence`, :mod:`.answerability`), the
extractive answerer (:mod:`.extractive`) and the composition of answers and abstentions (:mod:`.compose`)."""

from ..types import CANNOT_ANSWER
from .answerability import AnswerabilityModel, signals
from .compose import adds_own_words, cannot_answer, combine, compose, new_sentences
from .evidence import Evidence, assess
from .extractive import Answerer, ExtractiveAnswerer, Lengths

__all__ = [
    "CANNOT_ANSWER", "AnswerabilityModel", "Answerer", "Evidence", "ExtractiveAnswerer", "Lengths", "adds_own_words", "assess", "cannot_answer", "combine",
    "compose", "new_sentences", "signals",
]
