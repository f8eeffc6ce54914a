"""Document metadata of the samples, and sidecar files that override it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.embedders import Usem3Embedder
from assistant.settings import Settings
from assistant.store import ClauseStore
from ingest.documents import read_document
from ingest.metadata import MetadataError
from ingest.pipeline import ingest

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SAMPLES = sorted(p.name for p in CORPUS.glob("*.txt"))
S000, S001, S002, S003, S004 = SAMPLES

EXPECTED = {
    S000: {
        "title": "甘肅省人民政府關于加快建設法治政府打造法治政務環境的意見",
        "doc_number": "甘政發〔2015〕58號",
        "issuer": "甘肅省人民政府",
        "date_issued": "2015-06-20",
        "date_published": "2015-06-24",
        "region": "甘肃省",
        "doc_type": "意见",
        "period": "",
        "script": "traditional",
        "effective": "",
        "status": "",
        "history": (),
        "region_code": "620000000000",
        "region_path": ("甘肃省",),
        "period_end": "",
    },
    S001: {
        "title": "敦煌市人民政府办公室关于贯彻落实《酒泉市法治政府建设实施方案（2016-2020年）》的实施意见",
        "doc_number": "敦政办发〔2017〕110号",
        "issuer": "敦煌市人民政府办公室",
        "date_issued": "2017-04-13",
        "date_published": "2017-04-27",  # the page's 成文日期
        "region": "敦煌市",
        "doc_type": "实施意见",
        "period": "2016—2020",
        "script": "simplified",
        "effective": "",
        "status": "",
        "history": (),
        "region_code": "620982000000",
        "region_path": ("甘肃省", "酒泉市", "敦煌市"),
        "period_end": "2020-12-31",
    },
    S002: {
        "title": "內蒙古自治區貫徹《法治政府建設實施綱要（2021—2025年）》實施方案",
        "doc_number": "",
        "issuer": "自治區黨委和政府",
        "date_issued": "2022-09-12",  # no sign-off: the page date is all there is
        "date_published": "",
        "region": "内蒙古自治区",
        "doc_type": "实施方案",
        "period": "2021—2025",
        "script": "traditional",
        "effective": "",
        "status": "",
        "history": (),
        "region_code": "150000000000",
        "region_path": ("内蒙古自治区",),
        "period_end": "2025-12-31",
    },
    S003: {
        "title": "砥砺奋进主动作为全力推进政府法制工作创新发展——省政府副秘书长、法制办主任白文晖在全省政府法制工作座谈会上的讲话",
        "doc_number": "",
        "issuer": "省政府副秘书长、法制办主任 白文晖",
        "date_issued": "2015-04-20",
        "date_published": "2015-04-22",
        "region": "甘肃省",
        "doc_type": "讲话",
        "period": "",
        "script": "simplified",
        "effective": "",
        "status": "",
        "history": (),
        "region_code": "620000000000",
        "region_path": ("甘肃省",),
        "period_end": "",
    },
    S004: {
        "title": "中共张掖市委张掖市人民政府关于印发《张掖市法治政府建设实施方案（2016-2020年）》的通知",
        "doc_number": "市委发〔2017〕23号",
        "issuer": "中共张掖市委张掖市人民政府",
        "date_issued": "2017-04-24",
        "date_published": "2024-12-17",
        "region": "张掖市",
        "doc_type": "通知",
        "period": "2016—2020",
        "script": "simplified",
        "effective": "",
        "status": "",
        "history": (),
        "region_code": "620700000000",
        "region_path": ("甘肃省", "张掖市"),
        "period_end": "2020-12-31",
    },
}


@pytest.mark.parametrize("name", SAMPLES)
def test_metadata_of_each_sample(name: str) -> None:
    doc, report = read_document(CORPUS / name)
    meta = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.meta.to_dict().items()}  # JSON lists
    assert meta.pop("source") == name
    assert meta == EXPECTED[name]
    assert report.metadata == doc.meta.to_dict()


def test_year_comes_from_the_issue_date() -> None:
    years = {name: read_document(CORPUS / name)[0].meta.year for name in SAMPLES}
    assert years == {S000: 2015, S001: 2017, S002: 2022, S003: 2015, S004: 2017}


# ---------------------------------------------------------------- sidecars


@pytest.fixture
def doc_copy(tmp_path: Path) -> Path:
    target = tmp_path / S001
    shutil.copy(CORPUS / S001, target)
    return target


def test_json_sidecar_overrides_fields(doc_copy: Path) -> None:
    sidecar = doc_copy.with_name(doc_copy.name + ".meta.json")
    sidecar.write_text(
        json.dumps({"title": "敦煌市法治政府建设实施意见", "region": "酒泉市", "date_published": "2017-05-02"}, ensure_ascii=False),
        encoding="utf-8",
    )
    doc, report = read_document(doc_copy)
    assert doc.meta.title == "敦煌市法治政府建设实施意见"
    assert doc.meta.region == "酒泉市"
    assert doc.meta.date_published == "2017-05-02"
    # fields not in the sidecar keep what was read from the text
    assert doc.meta.doc_number == EXPECTED[S001]["doc_number"]
    assert doc.meta.issuer == EXPECTED[S001]["issuer"]
    assert doc.meta.source == S001
    assert report.metadata["title"] == "敦煌市法治政府建设实施意见"


def test_toml_sidecar_overrides_fields(doc_copy: Path) -> None:
    doc_copy.with_name(doc_copy.name + ".meta.toml").write_text(
        'doc_number = "敦政办发〔2017〕111号"\nperiod = "2017—2020"\n', encoding="utf-8"
    )
    doc, _ = read_document(doc_copy)
    assert doc.meta.doc_number == "敦政办发〔2017〕111号"
    assert doc.meta.period == "2017—2020"
    assert doc.meta.title == EXPECTED[S001]["title"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"titel": "x"}', "unknown fields ['titel']"),
        ('{"title": ', f"{S001}.meta.json"),
        ('{"source": "other.txt"}', "unknown fields ['source']"),
    ],
)
def test_invalid_sidecar_is_rejected_with_a_clear_message(doc_copy: Path, content: str, message: str) -> None:
    doc_copy.with_name(doc_copy.name + ".meta.json").write_text(content, encoding="utf-8")
    with pytest.raises(MetadataError) as err:
        read_document(doc_copy)
    assert message in str(err.value)


@pytest.mark.slow
def test_sidecar_metadata_reaches_the_index(
    doc_copy: Path, sample_settings: Settings, sample_store: ClauseStore, embedder: Usem3Embedder, tmp_path: Path
) -> None:
    settings = sample_settings.replace(data_dir=tmp_path / "data")
    shutil.copytree(sample_settings.data_dir, settings.data_dir)  # the session index is shared: work on a copy
    assert ingest([doc_copy], settings, embedder=embedder).files[0].status == "unchanged"
    # adding a sidecar changes the document's fingerprint: it is re-ingested with the new metadata
    doc_copy.with_name(doc_copy.name + ".meta.json").write_text('{"region": "酒泉市"}', encoding="utf-8")
    second = ingest([doc_copy], settings, embedder=embedder)
    assert [f.status for f in second.files] == ["ok"]
    assert second.files[0].metadata["region"] == "酒泉市"
    store = ClauseStore(settings, embedder)
    assert store.meta(S001).region == "酒泉市"
    assert store.documents[S001]["meta"]["region"] == "酒泉市"
    got = store.collection.get(where={"source": S001}, include=["metadatas"])
    assert len(got["ids"]) == len(store.clauses_of(S001)) > 0
    assert {md["region_key"] for md in got["metadatas"]} == {"酒泉市"}
    assert store.meta(S000) == sample_store.meta(S000)  # other documents untouched
    # a broken sidecar fails that file only, with the sidecar named in the error ...
    doc_copy.with_name(doc_copy.name + ".meta.json").write_text('{"regoin": "x"}', encoding="utf-8")
    third = ingest([doc_copy, CORPUS / S002], settings, embedder=embedder)
    assert [f.status for f in third.files] == ["failed", "unchanged"]
    assert "meta.json" in third.files[0].error and "regoin" in third.files[0].error
    # ... and the document indexed before stays as it was
    assert ClauseStore(settings, embedder).meta(S001).region == "酒泉市"
