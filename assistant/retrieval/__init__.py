"""From a question to ranked clauses: query analysis (:mod:`.query`), follow-up condensing (:mod:`.followup`),
hybrid lexical and dense search (:mod:`.hybrid`) and optional cross-encoder reranking (:mod:`.rerank`)."""

from .hybrid import Fusion, Reranker, Retriever, rrf, scope, term_weights
from .query import KeyTerm, Query, QueryAnalyzer, coverage

__all__ = ["Fusion", "KeyTerm", "Query", "QueryAnalyzer", "Reranker", "Retriever", "coverage", "rrf", "scope", "term_weights"]
