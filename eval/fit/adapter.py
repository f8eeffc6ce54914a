"""Fit the query adapter (:mod:`assistant.retrieval.adapter`): ``W = I + Δ`` on the dense vectors of the train
questions asked in Chinese, so that a question lands nearer the clauses that answer it.

Loss: for each question, the softmax over every clause of its index of the cosine similarity of ``W q`` and the
clause (temperature :data:`TEMPERATURE`), the probability mass on its gold clauses (those holding a gold quote)
maximised, plus ``λ‖Δ‖²`` pulling the map toward the identity. Adam, :data:`LEARNING_RATE`, mini-batches of
:data:`BATCH`.

``λ`` and the number of epochs are chosen on a grid by MRR@10 of dense retrieval of the gold clauses,
cross-validated by document (:data:`.answerability.FOLDS` group folds: a fold's questions and their documents are
unseen by the map scored on it); the map written is fitted on all the train questions at the chosen point.

The documents of ``holdout`` datasets (dev and test questions; each question's first gold document, as the split
by document assigns it) are left out of the contrast set and their questions out of the fit: a train question is
never pushed away from a clause of a document the map will be evaluated on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval.adapter import AdapterError, QueryAdapter

from ..dataset import Question, load_dataset
from ..metrics import supports_any
from . import made_by
from .answerability import FOLDS, group_of

log = logging.getLogger(__name__)
TEMPERATURE = 0.05
LEARNING_RATE = 1e-3
BATCH = 32
LAMBDAS = (0.1, 0.3, 1.0)
EPOCHS = (15, 30, 60, 120)
SEED = 0


@dataclass
class Part:
    """One index: its contrast clauses' vectors, and its train questions' vectors, gold clauses and documents."""

    clauses: np.ndarray
    questions: np.ndarray
    gold: list[np.ndarray]
    groups: list[str]


def holdout_sources(datasets: Sequence[Path]) -> set[str]:
    """The documents the questions of ``datasets`` are about: each one's first gold document, the one
    ``python -m eval split`` assigns it by (a question citing several laws shares the others with train)."""
    return {q.gold[0].source for path in datasets for q in load_dataset(path).items if q.gold}


def collect(assistant: Any, questions: Sequence[Question], held: set[str]) -> Part:
    """The index's clauses outside ``held`` and the Chinese answerable questions about a document outside it
    (their gold clauses among those)."""
    store = assistant.store
    ids = [cid for cid in store.order if cid in store.catalog and store.catalog[cid].source not in held]
    clauses = store.read_vectors(ids)
    passages = [{"source": store.catalog[cid].source, "text": store.catalog[cid].text} for cid in ids]
    originals = {q.id: q for q in questions}
    vectors, gold, groups = [], [], []
    for q in questions:
        if not q.answerable or not q.gold or q.history or q.gold[0].source in held:
            continue
        query = assistant.analyzer.analyse(q.question)
        if query.english:
            continue
        wanted = np.array([i for i, p in enumerate(passages) if supports_any(p, q.gold)], dtype=np.int64)
        if not len(wanted):
            continue
        vectors.append(assistant.embedder.embed_query(query.dense_text))
        gold.append(wanted)
        groups.append(group_of(q, originals))
    dim = clauses.shape[1] if len(clauses) else 0
    return Part(clauses, np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32), gold, groups)


def mrr(delta: np.ndarray | None, part: Part, rows: np.ndarray, k: int = 10) -> np.ndarray:
    """Reciprocal rank (within ``k``) of the first gold clause of each question of ``rows`` under ``I + delta``."""
    q = part.questions[rows]
    if delta is not None:
        q = q + q @ delta.T
    scores = q @ part.clauses.T
    out = np.zeros(len(rows))
    for n, i in enumerate(rows):
        best = scores[n, part.gold[i]].max()
        rank = int((scores[n] > best).sum()) + 1
        out[n] = 1.0 / rank if rank <= k else 0.0
    return out


def train(parts: Sequence[Part], rows: Sequence[np.ndarray], lam: float, checkpoints: Sequence[int]) -> dict[int, np.ndarray]:
    """Δ after each of ``checkpoints`` epochs, trained on the questions ``rows[i]`` of ``parts[i]``."""
    import torch

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    dim = parts[0].clauses.shape[1]
    delta = torch.zeros((dim, dim), requires_grad=True)
    optimiser = torch.optim.Adam([delta], lr=LEARNING_RATE)
    tensors = [(torch.from_numpy(p.clauses), torch.from_numpy(p.questions)) for p in parts]
    batches = [(j, chunk) for j, r in enumerate(rows) for chunk in np.array_split(r, max(1, -(-len(r) // BATCH))) if len(chunk)]
    masks = []  # each batch's gold clauses, the same every epoch
    for j, chunk in batches:
        mask = torch.zeros((len(chunk), len(parts[j].clauses)), dtype=torch.bool)
        for n, i in enumerate(chunk):
            mask[n, torch.from_numpy(parts[j].gold[i])] = True
        masks.append(mask)
    out: dict[int, np.ndarray] = {}
    for epoch in range(1, max(checkpoints) + 1):
        for b in rng.permutation(len(batches)):
            j, chunk = batches[b]
            clauses, questions = tensors[j]
            q = questions[torch.from_numpy(chunk)]
            q = q + q @ delta.T
            q = q / q.norm(dim=1, keepdim=True).clamp_min(1e-12)
            logits = q @ clauses.T / TEMPERATURE
            mask = masks[b]
            positive = torch.logsumexp(logits.masked_fill(~mask, float("-inf")), dim=1)
            loss = (torch.logsumexp(logits, dim=1) - positive).mean() + lam * (delta ** 2).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        if epoch in checkpoints:
            out[epoch] = delta.detach().numpy().copy()
    return out


@dataclass
class Fold:
    """The documents a fold held out and, per grid point, the Δ fitted without them."""

    documents: set[str]
    deltas: dict[tuple[float, int], np.ndarray]


def cross_validate(parts: Sequence[Part]) -> tuple[dict[tuple[float, int], float], list[Fold]]:
    """Mean held-out MRR@10 of every grid point, folds by document across all parts, and the folds' maps."""
    from sklearn.model_selection import GroupKFold

    owners = [(j, i) for j, p in enumerate(parts) for i in range(len(p.gold))]
    groups = [parts[j].groups[i] for j, i in owners]
    totals = {(lam, e): 0.0 for lam in LAMBDAS for e in EPOCHS}
    folds = []
    for number, (inside, outside) in enumerate(GroupKFold(n_splits=min(FOLDS, len(set(groups)))).split(owners, groups=groups)):
        train_rows = [np.array([owners[n][1] for n in inside if owners[n][0] == k], dtype=np.int64) for k in range(len(parts))]
        test_rows = [np.array([owners[n][1] for n in outside if owners[n][0] == k], dtype=np.int64) for k in range(len(parts))]
        fold = Fold({groups[n] for n in outside}, {})
        for lam in LAMBDAS:
            for epochs, delta in train(parts, train_rows, lam, EPOCHS).items():
                totals[(lam, epochs)] += sum(mrr(delta, p, r).sum() for p, r in zip(parts, test_rows, strict=True) if len(r))
                fold.deltas[(lam, epochs)] = delta
            log.info("fold %d, λ %s done", number + 1, lam)
        folds.append(fold)
    return {point: total / len(owners) for point, total in totals.items()}, folds


@dataclass(frozen=True)
class CrossFit:
    """The chosen point's maps fitted without each fold's documents (``python -m eval fit adapter --folds-out
    DIR``). What is fitted after the adapter on the same train questions (fusion weights, answerability) must see
    each question through a map that was not fitted on its document, or it learns the in-sample gain."""

    by_document: dict[str, QueryAdapter]

    @classmethod
    def load(cls, folder: Path, encoder: str) -> CrossFit:
        by_document: dict[str, QueryAdapter] = {}
        files = sorted(folder.glob("fold-*.json"))
        if not files:
            raise AdapterError(f"{folder} holds no fold-*.json written by 'python -m eval fit adapter --folds-out'")
        for path in files:
            adapter = QueryAdapter.load(encoder, path)
            if adapter is not None:
                by_document.update(dict.fromkeys(adapter.provenance["held_out_documents"], adapter))
        return cls(by_document)

    def adapter_for(self, question: Question, default: QueryAdapter | None) -> QueryAdapter | None:
        """The map fitted without the question's document; ``default`` for a question about none of them."""
        return self.by_document.get(question.gold[0].source, default) if question.gold else default


def save_folds(folds: Sequence[Fold], point: tuple[float, int], encoder: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("fold-*.*"):
        old.unlink()
    for number, fold in enumerate(folds, 1):
        dim = fold.deltas[point].shape[0]
        provenance = {"fold": number, "lambda": point[0], "epochs": point[1], "held_out_documents": sorted(fold.documents)}
        QueryAdapter(np.eye(dim, dtype=np.float32) + fold.deltas[point], encoder, provenance).save(folder / f"fold-{number}.json")


def run(sets: Sequence[tuple[Path, Path]], out: Path, config: Path | None = None,
        holdout: Sequence[Path] = (), folds_out: Path | None = None) -> dict[str, Any]:
    """Fit and write the adapter to ``out``; with ``folds_out``, also each fold's map there (:class:`CrossFit`)."""
    from assistant.service import Assistant
    from assistant.settings import load_settings

    from .answerability import neutral_model

    held = holdout_sources(holdout)
    parts: list[Part] = []
    used = []
    encoder = ""
    for data_dir, dataset in sets:
        settings = replace(load_settings(config, data_dir=data_dir), query_adapter="none")
        assistant = Assistant(settings, model=neutral_model())
        encoder = assistant.embedder.name
        part = collect(assistant, load_dataset(dataset).items, held)
        used.append({"dataset": dataset.as_posix(), "questions": len(part.gold), "clauses": len(part.clauses)})
        if part.gold:
            parts.append(part)
    if not parts:
        raise ValueError("the datasets give no Chinese answerable question with a gold clause in its index")
    everything = [np.arange(len(p.gold)) for p in parts]
    count = sum(len(r) for r in everything)
    identity = sum(mrr(None, p, r).sum() for p, r in zip(parts, everything, strict=True)) / count
    scores, folds = cross_validate(parts)
    (lam, epochs), best = max(scores.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
    if folds_out is not None:
        save_folds(folds, (lam, epochs), encoder, folds_out)
    delta = train(parts, everything, lam, (epochs,))[epochs]
    in_sample = sum(mrr(delta, p, r).sum() for p, r in zip(parts, everything, strict=True)) / count
    dim = delta.shape[0]
    provenance = {
        "made_by": made_by("adapter"), "date": date.today().isoformat(), "encoder": encoder, "datasets": used,
        "holdout": [p.as_posix() for p in holdout], "holdout_documents": len(held),
        "questions": count, "documents": len({g for p in parts for g in p.groups}),
        "loss": {"temperature": TEMPERATURE, "learning_rate": LEARNING_RATE, "batch": BATCH, "seed": SEED},
        "grid": {"lambda": LAMBDAS, "epochs": EPOCHS},
        "cv_mrr@10": {f"lambda={k[0]},epochs={k[1]}": round(v, 4) for k, v in sorted(scores.items())},
        "chosen": {"lambda": lam, "epochs": epochs},
        "mrr@10_identity": round(identity, 4), "cv_mrr@10_chosen": round(best, 4), "mrr@10_in_sample": round(in_sample, 4),
    }
    adapter = QueryAdapter(np.eye(dim, dtype=np.float32) + delta, encoder, provenance)
    adapter.save(out)
    return provenance
