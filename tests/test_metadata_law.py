"""Metadata of legislation: lawcorpus files (read by path), documents written here, and linked versions."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.index.versions import link_versions, title_key, version_date
from assistant.types import DocumentMeta
from ingest.documents import read_document
from ingest.metadata import law_head, split_events, stated_status

LAWCORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "lawcorpus"
needs_lawcorpus = pytest.mark.skipif(not LAWCORPUS.is_dir(), reason="../shared/lawcorpus is not there")

# Short facts read from the files' header lines and final articles (title, kind, maker, dates, 令号, place).
LAWS = {
    "宪法/宪法.md": {
        "title": "中华人民共和国宪法", "doc_type": "宪法", "issuer": "全国人民代表大会",
        "date_issued": "2018-03-11", "effective": "1982-12-04", "doc_number": "", "region": "",
    },
    "民法商法/专利法(2020-10-17).md": {
        "title": "中华人民共和国专利法", "doc_type": "法律", "issuer": "全国人民代表大会常务委员会",
        "date_issued": "2020-10-17", "effective": "1985-04-01", "doc_number": "", "region": "",
    },
    "宪法相关法/澳门特别行政区基本法(1993-03-31).md": {
        "title": "中华人民共和国澳门特别行政区基本法", "doc_type": "法律", "issuer": "全国人民代表大会",
        "date_issued": "1993-03-31", "effective": "1999-12-20", "doc_number": "主席令第三号", "region": "",
    },
    "刑法/刑法修正案（四）.md": {  # its articles are numbered 一、二、…: "九、本修正案自公布之日起施行"
        "title": "中华人民共和国刑法修正案（四）", "doc_type": "法律", "issuer": "全国人民代表大会常务委员会",
        "date_issued": "2002-12-28", "effective": "2002-12-28", "doc_number": "", "region": "",
    },
    "行政法规/专利法实施细则(2023-12-11).md": {
        "title": "中华人民共和国专利法实施细则", "doc_type": "行政法规", "issuer": "国务院",
        "date_issued": "2023-12-11", "effective": "2001-07-01", "doc_number": "国务院令第306号", "region": "",
    },
    "部门规章/人力资源社会保障部/企业职工带薪年休假实施办法(2008-07-17).md": {
        "title": "企业职工带薪年休假实施办法", "doc_type": "部门规章", "issuer": "人力资源和社会保障部",
        "date_issued": "2008-07-17", "effective": "2008-07-17", "doc_number": "", "region": "",
    },
    "部门规章/市场监督管理总局/明码标价和禁止价格欺诈规定(2022-04-14).md": {
        "title": "明码标价和禁止价格欺诈规定", "doc_type": "部门规章", "issuer": "国家市场监督管理总局",
        "date_issued": "2022-04-14", "effective": "2022-07-01", "doc_number": "国家市场监督管理总局令第56号",
        "region": "",
    },
    "司法解释/人民检察院刑事诉讼规则(2019-12-02).md": {
        "title": "人民检察院刑事诉讼规则", "doc_type": "司法解释", "issuer": "最高人民检察院",
        "date_issued": "2019-12-02", "effective": "2019-12-30", "doc_number": "", "region": "",
    },
    "DLC/山东地方法规/地方性法规/山东/东营市养犬管理条例(2017-10-11).md": {
        "title": "东营市养犬管理条例", "doc_type": "地方性法规", "issuer": "东营市人民代表大会常务委员会",
        "date_issued": "2017-09-30", "effective": "2018-05-01", "doc_number": "", "region": "东营市",
        "region_path": ("山东省", "东营市"), "region_code": "370500000000",
    },
    "DLC/北京地方法规/地方性法规/北京/中关村国家自主创新示范区条例.md": {
        "title": "中关村国家自主创新示范区条例", "doc_type": "地方性法规", "issuer": "北京市人民代表大会常务委员会",
        "date_issued": "2010-12-23", "effective": "2010-12-23", "doc_number": "", "region": "北京市",
        "region_path": ("北京市",),
    },
    "DLC/重庆地方法规/地方性法规/重庆/酉阳土家族苗族自治县城镇管理条例(2012-12-29).md": {
        "title": "酉阳土家族苗族自治县城镇管理条例", "doc_type": "地方性法规",
        "issuer": "酉阳土家族苗族自治县人民代表大会", "date_issued": "2012-12-27", "effective": "2013-03-01",
        "doc_number": "", "region": "酉阳土家族苗族自治县", "region_path": ("重庆市", "酉阳土家族苗族自治县"),
    },
    "DLC/重庆地方法规/地方性法规/重庆/重庆市天然气管理条例(2019-05-31).md": {
        "title": "重庆市天然气管理条例", "doc_type": "地方性法规", "issuer": "重庆市人民代表大会常务委员会",
        "date_issued": "2019-05-31", "effective": "2020-01-01", "doc_number": "", "region": "重庆市",
    },
    "DLC/浙江地方法规/地方性法规/浙江/杭州市跨境电子商务促进条例(2017-01-13).md": {
        "title": "杭州市跨境电子商务促进条例", "doc_type": "地方性法规", "issuer": "杭州市人民代表大会常务委员会",
        "date_issued": "2016-12-23", "effective": "2017-03-01",
        "doc_number": "杭州市第十二届人民代表大会常务委员会公告第78号", "region": "杭州市",
        "region_path": ("浙江省", "杭州市"),
    },
    "DLC/河南地方法规/地方性法规/河南/郑州市物业管理条例(2007-12-14).md": {
        "title": "郑州市物业管理条例", "doc_type": "地方性法规", "issuer": "郑州市人民代表大会常务委员会",
        "date_issued": "2021-07-30", "effective": "2021-10-01", "doc_number": "", "region": "郑州市",
        "region_path": ("河南省", "郑州市"),
    },
    "DLC/上海地方法规/地方性法规/上海/上海市养犬管理条例.md": {  # no history lines: kind and place from the title
        "title": "上海市养犬管理条例", "doc_type": "地方性法规", "issuer": "", "date_issued": "",
        "effective": "2011-05-15", "doc_number": "", "region": "上海市",
    },
    "DLC/山东地方法规/地方性法规/山东/莱芜市钢结构建筑应用促进条例.md": {
        # 莱芜市 was merged into 济南 in 2019: the gazetteer has no such city, the approving province remains
        "title": "莱芜市钢结构建筑应用促进条例", "doc_type": "地方性法规", "issuer": "莱芜市人民代表大会常务委员会",
        "date_issued": "2016-11-26", "region": "山东省",
    },
}


@needs_lawcorpus
@pytest.mark.parametrize("name", sorted(LAWS))
def test_metadata_of_lawcorpus_files(name: str) -> None:
    meta = read_document(LAWCORPUS / name)[0].meta
    got = {field: getattr(meta, field) for field in LAWS[name]}
    assert got == LAWS[name]
    assert meta.status == ""  # the files do not state a status


@needs_lawcorpus
def test_history_keeps_every_dated_line_as_written() -> None:
    meta = read_document(LAWCORPUS / "民法商法/专利法(2020-10-17).md")[0].meta
    assert len(meta.history) == 5
    assert meta.history[0].startswith("1984年3月12日") and meta.history[0].endswith("通过")
    assert all(line.endswith("修正") for line in meta.history[1:])
    constitution = read_document(LAWCORPUS / "宪法/宪法.md")[0].meta
    assert [line[:4] for line in constitution.history] == ["1982", "1982", "1988", "1993", "1999", "2004", "2018"]


@needs_lawcorpus
def test_national_texts_have_no_region() -> None:
    for name in ("宪法/宪法.md", "行政法规/专利法实施细则(2023-12-11).md", "司法解释/人民检察院刑事诉讼规则(2019-12-02).md"):
        meta = read_document(LAWCORPUS / name)[0].meta
        assert (meta.region, meta.region_code, meta.region_path) == ("", "", ())


# ---------------------------------------------------------------- documents written for these tests

NOTICE = """索引号：431101-2023-00012
主题分类：综合政务
发文字号：吉政办发〔2023〕7号
成文日期：2023年03月15日
发布日期：2023年03月20日
标题：吉首市人民政府办公室关于印发《吉首市2023年法治政府建设工作要点》的通知
各乡镇人民政府、街道办事处，市直各单位：
《吉首市2023年法治政府建设工作要点》已经市人民政府同意，现印发给你们，请认真贯彻执行。
一、加强行政规范性文件管理。各单位要按照要求开展清理工作。
二、推进严格规范公正文明执法。各单位要落实行政执法公示制度。
本通知自印发之日起施行，《吉首市2020年法治政府建设工作要点》同时废止。
吉首市人民政府办公室
2023年3月15日
"""

COUNTY_REGULATION = """# 长阳土家族自治县清江保护条例

2021年3月2日 长阳土家族自治县第九届人民代表大会第六次会议通过

2021年5月28日 湖北省第十三届人民代表大会常务委员会第二十三次会议批准

<!-- INFO END -->

## 第一章 总则

第一条 为了保护清江，根据有关法律法规，结合自治县实际，制定本条例。

第二条 自治县行政区域内清江的保护适用本条例。

## 第二章 附则

第三条 本条例自2021年7月1日起施行。
"""


def _read(tmp_path: Path, name: str, text: str) -> DocumentMeta:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_document(path)[0].meta


def test_header_table_notice(tmp_path: Path) -> None:
    meta = _read(tmp_path, "notice.txt", NOTICE)
    assert meta.title == "吉首市人民政府办公室关于印发《吉首市2023年法治政府建设工作要点》的通知"
    assert meta.doc_number == "吉政办发〔2023〕7号"
    assert meta.issuer == "吉首市人民政府办公室"
    assert meta.doc_type == "通知"
    assert (meta.date_issued, meta.date_published) == ("2023-03-15", "2023-03-20")
    assert meta.effective == "2023-03-15"  # 自印发之日起施行
    assert meta.status == ""  # "…同时废止" is about another document
    assert meta.history == ()
    assert meta.region == "吉首市"
    assert meta.region_path == ("湖南省", "湘西土家族苗族自治州", "吉首市")
    assert meta.region_code == "433101000000"


def test_county_level_regulation(tmp_path: Path) -> None:
    meta = _read(tmp_path, "长阳土家族自治县清江保护条例.md", COUNTY_REGULATION)
    assert meta.title == "长阳土家族自治县清江保护条例"
    assert meta.issuer == "长阳土家族自治县人民代表大会"
    assert meta.doc_type == "地方性法规"
    assert meta.date_issued == "2021-05-28"  # approved by the province: the text's latest act
    assert meta.effective == "2021-07-01"
    assert len(meta.history) == 2 and meta.history[1].endswith("批准")
    assert meta.region_path == ("湖北省", "宜昌市", "长阳土家族自治县")


def test_a_plans_period_ends_on_the_last_day_of_its_last_year(tmp_path: Path) -> None:
    text = "某某省人民政府关于印发《某某省法治政府建设实施方案（2021—2025年）》的通知\n各市人民政府：\n现印发给你们。\n"
    meta = _read(tmp_path, "plan.txt", text)
    assert (meta.period, meta.period_end) == ("2021—2025", "2025-12-31")


@pytest.mark.parametrize(
    ("title", "head", "page", "status"),
    [
        ("某市市容管理办法（已废止）", [], {}, "已废止"),
        ("某市市容管理办法", ["时效性：现行有效"], {}, "现行有效"),
        ("某市市容管理办法", ["【失效】"], {}, "失效"),
        ("某市市容管理办法", [], {"效力状态": "已修订"}, "已修订"),
        ("某市市容管理办法", ["本办法自2020年1月1日起施行，《某市市容办法》同时废止。"], {}, ""),
    ],
)
def test_status_only_from_the_documents_own_header(title: str, head: list[str], page: dict, status: str) -> None:
    assert stated_status(title, head, page) == status


def test_history_lines_split_where_a_new_date_begins() -> None:
    block = "1999年7月29日 重庆市第一届人民代表大会常务委员会第十八次会议修正 2006年3月31日重庆市第二届人民代表大会常务委员会第二十三次会议修订"
    events = split_events(block)
    assert [(e.date, e.act, e.body) for e in events] == [
        ("1999-07-29", "amended", "重庆市人民代表大会常务委员会"),
        ("2006-03-31", "amended", "重庆市人民代表大会常务委员会"),
    ]
    nested = "2018年11月30日 山东省第十三届人民代表大会常务委员会第七次会议批准的2018年9月7日青岛市人大常委会的决定修正"
    assert len(split_events(nested)) == 1


def test_law_head_works_without_heading_marks() -> None:
    text = "某某条例\n2020年1月2日 国务院令第1号公布\n2020年3月1日 施行\n第一章 总则\n第一条 为了……\n"
    title, block = law_head(text, [])
    assert title == "某某条例"
    assert [e.act for e in split_events("\n".join(block))] == ["promulgated", "effective"]
    assert law_head("关于某事的通知\n各单位：\n现通知如下。\n", []) == ("", [])
    # the header lines of the legislation parser serve when the text does not start with the law's head
    assert law_head("第一条 为了……", ["# 某某条例", "2020年1月2日 国务院令第1号公布"])[0] == "某某条例"


# ---------------------------------------------------------------- versions


def _meta(source: str, title: str, issued: str, status: str = "", effective: str = "") -> DocumentMeta:
    return DocumentMeta(source=source, title=title, date_issued=issued, status=status, effective=effective)


def test_versions_are_ordered_and_the_latest_is_current() -> None:
    metas = [
        _meta("b.md", "某某条例", "2015-06-01"),
        _meta("a.md", "某某条例", "2003-01-01"),
        _meta("c.md", "某某条例（2021年修订）", "2021-09-01"),
        _meta("other.md", "另一办法", "2010-01-01"),
    ]
    linked = link_versions(metas)
    assert linked["a.md"].group.versions == ("a.md", "b.md", "c.md")
    assert linked["a.md"].group is linked["c.md"].group
    assert [linked[s].current for s in ("a.md", "b.md", "c.md")] == [False, False, True]
    assert linked["b.md"].superseded_by == "c.md" and linked["b.md"].supersedes == "a.md"
    assert linked["c.md"].superseded_by == ""
    assert linked["other.md"].group.versions == ("other.md",) and linked["other.md"].current


def test_a_repealed_version_is_never_current() -> None:
    linked = link_versions([_meta("old.md", "某某办法", "2001-01-01"), _meta("new.md", "某某办法", "2011-01-01", "已废止")])
    assert linked["new.md"].group.current == ""
    assert not linked["old.md"].current and linked["old.md"].superseded_by == "new.md"


def test_version_dates_fall_back_on_the_file_name_then_the_effective_date() -> None:
    assert version_date(_meta("x(2010-01-09).md", "t", "")) == "2010-01-09"
    assert version_date(_meta("x.md", "t", "", effective="2012-05-01")) == "2012-05-01"
    assert title_key("中华人民共和国 专利法 实施细则") == title_key("中华人民共和国专利法实施细则（2010年修订）")


@needs_lawcorpus
def test_versions_of_a_lawcorpus_regulation() -> None:
    names = ["行政法规/专利法实施细则(2023-12-11).md", "行政法规/专利法实施细则(2010-01-09).md", "宪法/宪法.md"]
    metas = [read_document(LAWCORPUS / n, source=n)[0].meta for n in names]
    linked = link_versions(metas)
    old, new = "行政法规/专利法实施细则(2010-01-09).md", "行政法规/专利法实施细则(2023-12-11).md"
    assert linked[old].group.versions == (old, new)
    assert linked[old].superseded_by == new
    assert linked[new].current and not linked[old].current
    assert linked["宪法/宪法.md"].group.versions == ("宪法/宪法.md",)


def test_a_text_opening_with_its_promulgating_order_is_named_by_the_act(tmp_path: Path) -> None:
    text = (
        "某市人民政府令\n第12号\n《某市停车管理办法》已经2023年11月20日市政府第37次常务会议审议通过，现予公布，"
        "自2024年1月1日起施行。\n市长 某某\n2023年12月5日\n某市停车管理办法\n第一章 总则\n"
        "第一条 为了规范停车管理，制定本办法。\n第二条 本办法自2024年1月1日起施行。\n"
    )
    (tmp_path / "order.txt").write_text(text, encoding="utf-8")
    meta = read_document(tmp_path / "order.txt")[0].meta
    assert (meta.title, meta.doc_number, meta.issuer) == ("某市停车管理办法", "某市人民政府令第12号", "某市人民政府")
    assert (meta.date_issued, meta.effective) == ("2023-12-05", "2024-01-01")
    assert meta.history == ("2023年11月20日市政府第37次常务会议审议通过", "2023年12月5日某市人民政府令第12号公布")
