"""Clause records in the index of the five samples: metadata, ids, labels, offsets, and the header,
preamble and sign-off records."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from assistant.store import ClauseStore
from assistant.text import normalise, tokenize
from assistant.types import HEADER_LABEL, PREAMBLE_LABEL, SIGNOFF_LABEL
from ingest.documents import read_document

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))
S000, S001, S002, S003, S004 = SAMPLES

pytestmark = pytest.mark.slow

LABEL_RE = re.compile(r"^(?:[一二三四五六七八九十百]+|（[一二三四五六七八九十百]+）|（\d+）|\d+|第[一二三四五六七八九十]+|[一二三四五六七八九十]+[是要])$")
SPECIAL = {"header": HEADER_LABEL, "preamble": PREAMBLE_LABEL, "signoff": SIGNOFF_LABEL}



def test_index_holds_the_five_samples(sample_store: ClauseStore) -> None:
    assert sorted(sample_store.documents) == SAMPLES
    assert len(sample_store) == sample_store.collection.count()
    assert len(sample_store) == sum(len(read_document(CORPUS / n)[0].clauses) for n in SAMPLES)


@pytest.mark.parametrize("name", SAMPLES)
def test_every_record_carries_its_document_metadata(sample_store: ClauseStore, name: str) -> None:
    doc, _ = read_document(CORPUS / name)
    assert sample_store.meta(name) == doc.meta
    assert sample_store.documents[name]["meta"] == doc.meta.to_dict()
    assert sample_store.documents[name]["clauses"] == len(doc.clauses)
    assert sample_store.document_text(name) == doc.text
    records = sample_store.clauses_of(name)
    assert records == doc.clauses
    for clause in records:
        assert sample_store.meta(clause.source).title == doc.meta.title


@pytest.mark.parametrize("name", SAMPLES)
def test_chroma_records_carry_the_metadata(sample_store: ClauseStore, name: str) -> None:
    meta = sample_store.meta(name)
    got = sample_store.collection.get(where={"source": name}, include=["metadatas", "documents"])
    by_id = {c.id: c for c in sample_store.clauses_of(name)}
    assert set(got["ids"]) == set(by_id)
    carriers = []
    assert all(text is None for text in got["documents"])  # the text rides in clause_json only, not indexed twice
    for cid, md in zip(got["ids"], got["metadatas"], strict=True):
        clause = by_id[cid]
        assert json.loads(md["clause_json"])["text"] == clause.text
        assert md["label"] == clause.label and md["kind"] == clause.kind
        assert md["region_key"] == normalise(meta.region)
        assert md["year"] == meta.year
        assert md["doc_type"] == meta.doc_type
        assert json.loads(md["clause_json"])["id"] == cid
        if md["doc_json"]:
            carriers.append(json.loads(md["doc_json"]))
    # the document record rides on exactly one clause, so the index can be rebuilt from Chroma alone
    assert len(carriers) == 1
    assert carriers[0]["meta"] == meta.to_dict()


@pytest.mark.parametrize("name", SAMPLES)
def test_ids_and_labels(sample_store: ClauseStore, name: str) -> None:
    records = sample_store.clauses_of(name)
    ids = [c.id for c in records]
    assert len(ids) == len(set(ids))
    for clause in records:
        assert sample_store.catalog[clause.id] is clause
        assert re.fullmatch(r"[0-9a-f]{20}", clause.id)
        assert clause.label_path
        assert clause.label == "".join(clause.label_path)
        assert clause.part >= 0
        if clause.kind == "clause":
            assert all(LABEL_RE.match(element) for element in clause.label_path), clause.label_path
            assert len(clause.headings) == len(clause.label_path) - 1
        else:
            assert clause.label_path == (SPECIAL[clause.kind],)
            assert clause.headings == ()
    # parts of a split clause are numbered 0, 1, 2 … in document order
    by_label: dict[tuple[str, str], list[int]] = {}
    for clause in records:
        by_label.setdefault((clause.kind, clause.label), []).append(clause.part)
    for (kind, label), parts in by_label.items():
        assert parts == list(range(len(parts))), (kind, label, parts)


@pytest.mark.parametrize("name", SAMPLES)
def test_offsets_point_into_the_document_text(sample_store: ClauseStore, name: str) -> None:
    text = sample_store.document_text(name)
    records = sample_store.clauses_of(name)
    for clause in records:
        assert 0 <= clause.start < clause.end <= len(text)
        assert text[clause.start : clause.end] == clause.text, (clause.label, clause.part)
    # together the records cover every line of the cleaned text (nothing unattached in the samples)
    covered = [False] * len(text)
    for clause in records:
        covered[clause.start : clause.end] = [True] * (clause.end - clause.start)
    missing = "".join(ch for ch, hit in zip(text, covered, strict=True) if not hit and ch != "\n")
    assert missing == ""
    # and no two records claim the same text
    for a, b in itertools.pairwise(sorted(records, key=lambda c: c.start)):
        assert a.end <= b.start, (a.label, a.part, b.label, b.part)


@pytest.mark.parametrize(
    ("name", "signoff"),
    [
        (S000, "甘肅省人民政府\n2015年6月20日"),
        (S001, "敦煌市人民政府办公室\n2017年4月13日"),
        (S002, None),  # a news page reprinting the plan: no sign-off in the text
        (S003, None),  # a speech
        (S004, "中共张掖市委张掖市人民政府\n2017年4月24日"),
    ],
)
def test_header_preamble_and_signoff_records(sample_store: ClauseStore, name: str, signoff: str | None) -> None:
    records = sample_store.clauses_of(name)
    meta = sample_store.meta(name)
    headers = [c for c in records if c.kind == "header"]
    assert len(headers) == 1 and headers[0].part == 0
    assert headers[0].text.startswith(meta.title.split("——")[0][:10])
    if meta.doc_number:
        assert meta.doc_number in headers[0].text
    assert [c for c in records if c.kind == "preamble"]
    signoffs = [c.text for c in records if c.kind == "signoff"]
    assert signoffs == ([signoff] if signoff else [])
    # the header comes first; the body clauses follow the preamble
    assert records[0].kind == "header"


def test_header_records_are_found_by_document_metadata(sample_store: ClauseStore) -> None:
    """Header and sign-off records carry the metadata in the lexical index (发文字号, issuer, date)."""
    for name in (S000, S001, S004):
        meta = sample_store.meta(name)
        hits = sample_store.lexical_search(tokenize(f"{meta.doc_number} 发文字号"), k=3)
        assert hits
        top = sample_store.catalog[hits[0][0]]
        assert (top.source, top.kind) in {(name, "header"), (name, "signoff")}
