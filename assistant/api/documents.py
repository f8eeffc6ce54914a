"""The documents API (admin scope): list, upload, delete, re-ingest, enable or disable documents, read their
clause records; and ``POST /v1/search`` (ask scope), retrieval only, to test what a query finds.

Uploads are stored in ``data_dir/uploads`` under their file name and ingested from there. A document is
identified by its file name, so an upload never silently replaces one: a name in use is a 409 unless the
request says ``replace=true``. A failed ingest leaves the previous file and document as they were.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from ingest.loaders import SUPPORTED
from ingest.pipeline import ingest, remove
from ingest.pipeline import reingest as reingest_document

from .. import uploads
from ..index.catalog import clause_record
from ..store import Filters
from .auth import AdminCaller, AskCaller, Caller
from .backend import Backend
from .errors import APIError
from .openai import filters_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["documents"])


def _backend(request: Request) -> Backend:
    return request.app.state.backend


def _uploads_dir(backend: Backend) -> Path:
    return backend.settings.data_dir / "uploads"


def _require(backend: Backend, source: str) -> dict[str, Any]:
    doc = backend.document(source)
    if doc is None:
        raise APIError(404, f"no document {source!r} in the index; GET /v1/documents lists them", "document_not_found")
    return doc


# ------------------------------------------------------------------ reading


@router.get("/documents", summary="Every document with its metadata, clause count, validity and enabled flag")
def list_documents(request: Request, caller: AdminCaller) -> dict[str, Any]:
    return {"object": "list", "data": _backend(request).documents()}


@router.get("/documents/{source:path}/clauses", summary="The clause records of a document, in document order")
def document_clauses(source: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    backend = _backend(request)
    _require(backend, source)
    clauses = backend.assistant().store.clauses_of(source)
    return {"object": "list", "source": source, "data": [{**clause_record(c), "label": c.label} for c in clauses]}


# ------------------------------------------------------------------ writing


@router.post("/documents/{source:path}/reingest", summary="Ingest a document again from the file it came from")
def reingest(source: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    backend = _backend(request)
    with backend.write_lock:
        origin = _require(backend, source)["path"]
        if not origin:
            raise APIError(409, f"{source!r} has no recorded file to read again; upload it again", "no_origin")
        if not Path(origin).is_file():
            raise APIError(409, f"the file {source!r} was ingested from is gone ({origin}); upload it again", "origin_missing")
        report = reingest_document(source, backend.settings, embedder=backend.embedder)
    if report.status == "failed":
        raise APIError(422, f"{source!r} could not be ingested: {report.error}", "ingest_failed")
    return {"document": backend.document(source), "report": report.to_dict()}


class DocumentChange(BaseModel):
    enabled: bool
    """A disabled document stays stored but is never retrieved (nor cited)."""


@router.patch("/documents/{source:path}", summary="Enable or disable a document")
def change_document(
    source: str, change: DocumentChange, request: Request, caller: AdminCaller
) -> dict[str, Any]:
    backend = _backend(request)
    with backend.write_lock:
        _require(backend, source)
        backend.assistant().store.set_enabled(source, change.enabled)
    return {"document": backend.document(source)}


@router.delete("/documents/{source:path}", summary="Remove a document from the index (and its uploaded file)")
def delete_document(source: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    backend = _backend(request)
    folder = _uploads_dir(backend)
    with backend.write_lock:
        origin = _require(backend, source)["path"]
        report = remove([source], backend.settings, backend.embedder)[0]
        if report.status != "removed":
            raise APIError(404, f"{source!r}: {report.error}", "document_not_found")
        uploads.discard(folder, origin)
    return {"source": source, "deleted": True, "clauses": report.clauses}


@router.get("/documents/{source:path}", summary="One document with its metadata")
def get_document(source: str, request: Request, caller: AdminCaller) -> dict[str, Any]:
    return _require(_backend(request), source)


@router.post("/documents", status_code=201, summary="Upload and ingest a document (409 for a name in use unless replace)")
def upload_document(
    request: Request,
    caller: AdminCaller,
    file: Annotated[UploadFile, File(description="the document (.txt .md .html .htm .docx .pdf)")],
    replace: Annotated[bool, Query(description="replace a document of the same name")] = False,
    replace_form: Annotated[bool | None, Form(alias="replace", description="the same, as a form field")] = None,
) -> dict[str, Any]:
    backend = _backend(request)
    settings = backend.settings
    replace = replace or bool(replace_form)
    name = Path(file.filename or "").name
    if not name or name.startswith("."):
        raise APIError(400, f"invalid file name {file.filename!r}", "invalid_file_name")
    if Path(name).suffix.lower() not in SUPPORTED:
        raise APIError(415, f"unsupported file type {Path(name).suffix or '(none)'}; supported: "
                            f"{', '.join(sorted(SUPPORTED))}", "unsupported_file_type")
    limit = int(settings.max_upload_mb * 1_000_000)
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise APIError(413, f"the file is larger than max_upload_mb = {settings.max_upload_mb:g} MB", "file_too_large")
    folder = _uploads_dir(backend)
    with backend.write_lock:
        existing = backend.document(name) is not None or (folder / name).exists()
        if existing and not replace:
            raise APIError(409, f"a document named {name!r} exists; send replace=true to replace it", "document_exists")
        report = _store_and_ingest(backend, folder, name, data)
        _record_owner(folder, name, caller)
    return {"document": backend.document(name), "replaced": existing, "report": report}


def _store_and_ingest(backend: Backend, folder: Path, name: str, data: bytes) -> dict[str, Any]:
    """Put the upload at ``folder/name`` and ingest it from there; on failure put back what was there."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=folder))
    previous = staging / "previous"
    try:
        if target.exists():
            os.replace(target, previous)
        (staging / "new").write_bytes(data)
        os.replace(staging / "new", target)
        try:
            report = ingest([target], backend.settings, embedder=backend.embedder).files[0]
        except BaseException:
            _restore(target, previous)
            raise
        if report.status == "failed":
            _restore(target, previous)
            raise APIError(422, f"{name!r} could not be ingested: {report.error}", "ingest_failed")
        return report.to_dict()
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _restore(target: Path, previous: Path) -> None:
    target.unlink(missing_ok=True)
    if previous.exists():
        os.replace(previous, target)


def _record_owner(folder: Path, name: str, caller: Caller) -> None:
    """Record the upload in the web UI's registry of who uploaded what (the key's name; admin)."""
    try:
        registry = uploads.load_registry(folder)
        placement = uploads.Placement(name, name, replaces=name in registry)
        uploads.save_registry(folder, uploads.record(registry, placement, uploads.Uploader(caller.name or None, admin=True)))
    except (uploads.RegistryError, OSError) as exc:
        log.warning("upload of %s not recorded in the upload registry: %s", name, exc)


# ------------------------------------------------------------------ hit testing


class SearchRequest(BaseModel):
    query: str
    top_k: int = Field(10, ge=1, le=100, description="at most this many passages")
    source: str | list[str] | None = None
    region: str | list[str] | None = None
    year: int | list[int] | None = None


@router.post("/search", tags=["search"], summary="The passages the answer path retrieves for a query, with scores")
def search(body: SearchRequest, request: Request, caller: AskCaller) -> dict[str, Any]:
    backend = _backend(request)
    text = body.query.strip()
    limit = backend.settings.max_question_chars
    if not text or len(text) > limit:
        raise APIError(400, "the query is empty" if not text else f"the query has {len(text)} characters; at most "
                            f"{limit} are accepted (max_question_chars)", "invalid_question")
    assistant = backend.assistant()
    known = {d["source"] for d in assistant.documents()} if body.source else set()
    filters: Filters = filters_of(body, known)
    query, hits = assistant.search(text, filters)
    hits = hits[: body.top_k]
    return {
        "object": "list",
        "query": text,
        "intent": query.intent,
        "tokens": list(query.tokens),
        "data": [
            {
                "rank": rank, "score": h.score, "source": h.clause.source, "title": h.meta.title,
                "doc_number": h.meta.doc_number, "clause": h.clause.label, "clause_id": h.clause.id,
                "text": h.clause.text, "lexical_rank": h.lexical_rank, "dense_rank": h.dense_rank,
                "dense_score": h.dense_score, "coverage": h.coverage,
            }
            for rank, h in enumerate(hits, 1)
        ],
    }
