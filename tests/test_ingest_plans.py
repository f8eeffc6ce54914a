"""Numbering schemes of plans, notices and speeches read from the document itself (documents written here)."""

from __future__ import annotations

from pathlib import Path

from assistant.types import Clause
from ingest.documents import read_document


def parse(tmp_path: Path, text: str, name: str = "plan.txt") -> list[Clause]:
    path = tmp_path / name
    path.write_text(text.strip() + "\n", encoding="utf-8")
    doc, _ = read_document(path)
    assert all(doc.text[c.start : c.end] == c.text for c in doc.clauses)
    return doc.clauses


def by_label(clauses: list[Clause]) -> dict[tuple[str, ...], Clause]:
    return {c.label_path: c for c in clauses if c.kind == "clause" and c.part == 0}


GOALS_AND_MEASURES = """
某市优化营商环境三年行动方案
为持续优化营商环境，结合我市实际，制定本方案。
一、提升政务服务效能
目标：到2025年，政务服务事项全部实现网上可办。
措施：
1.推行一网通办。建设全市统一的政务服务平台。
2.推进证照分离。全面实行告知承诺制。
二、降低企业经营成本
目标：
1.企业用能成本明显下降；
2.物流成本下降百分之十。
措施：
3.降低用电成本。落实阶段性电价优惠政策。
4.降低物流成本。优化货物运输结构。
三、加强组织保障
主要目标：形成一级抓一级的工作格局。
主要措施：
5.建立联席会议制度。每季度调度一次。
6.强化督查考核。纳入年度绩效考核。
"""


def test_goal_and_measure_blocks_with_measures_numbered_across_sections(tmp_path: Path) -> None:
    clauses = by_label(parse(tmp_path, GOALS_AND_MEASURES))
    # one record per measure, numbered on across the sections, belonging to its section
    measures = [path for path in clauses if len(path) == 2 and path[1].isdigit()]
    assert measures == [("一", "1"), ("一", "2"), ("二", "1"), ("二", "2"), ("二", "3"), ("二", "4"), ("三", "5"), ("三", "6")]
    three = clauses[("二", "3")]
    assert three.text == "3.降低用电成本。落实阶段性电价优惠政策。"
    assert three.headings == ("降低企业经营成本", "措施")
    # the goal and the measures blocks are records of their own, not part of a neighbouring measure
    assert clauses[("一", "目标")].text == "目标：到2025年，政务服务事项全部实现网上可办。"
    assert clauses[("二", "2")].text == "2.物流成本下降百分之十。"
    assert clauses[("二", "2")].headings == ("降低企业经营成本", "目标")
    assert clauses[("三", "主要目标")].text.startswith("主要目标：形成")
    assert clauses[("三", "6")].headings == ("加强组织保障", "主要措施")


def test_measure_numbers_continuing_after_a_goal_list(tmp_path: Path) -> None:
    text = """
某县乡村振兴实施方案
为推进乡村振兴，制定本方案。
一、发展乡村产业
目标：主导产业产值年均增长百分之八。
措施：
1.壮大特色产业。培育特色农产品品牌。
2.发展农产品加工。建设加工园区。
3.培育新型经营主体。扶持家庭农场。
4.推进农村电商。建设县级电商服务中心。
二、建设美丽乡村
措施：
5.推进厕所革命。分类推进改厕。
6.治理生活污水。实施污水治理工程。
目标：
1.农村卫生厕所普及率达到百分之九十；
2.生活垃圾收运处置体系覆盖所有行政村。
三、深化农村改革
措施：
7.深化农村土地制度改革。稳妥推进宅基地改革。
8.发展新型农村集体经济。盘活集体资产。
"""
    clauses = by_label(parse(tmp_path, text))
    assert [p for p in clauses if p[0] == "三"] == [("三",), ("三", "措施"), ("三", "7"), ("三", "8")]
    assert clauses[("三", "7")].text == "7.深化农村土地制度改革。稳妥推进宅基地改革。"
    assert clauses[("二", "6")].text == "6.治理生活污水。实施污水治理工程。"
    assert clauses[("二", "2")].text == "2.生活垃圾收运处置体系覆盖所有行政村。"
    assert clauses[("二", "2")].headings == ("建设美丽乡村", "目标")


def test_circled_items_inside_numbered_items(tmp_path: Path) -> None:
    text = """
某市数据要素市场建设工作要点
为加快培育数据要素市场，制定本工作要点。
一、夯实数据基础
1.推进公共数据汇聚。重点做好以下工作：
①建设统一的数据资源目录；
②完善数据共享交换平台；
③开展数据质量评估。
2.推动数据开放。制定公共数据开放清单。
二、培育市场主体
1.引进数据服务企业。落实招商政策。
"""
    clauses = by_label(parse(tmp_path, text))
    assert [p for p in clauses if p[:2] == ("一", "1")] == [("一", "1"), ("一", "1", "①"), ("一", "1", "②"), ("一", "1", "③")]
    assert clauses[("一", "1")].text == "1.推进公共数据汇聚。重点做好以下工作："
    assert clauses[("一", "1", "②")].text == "②完善数据共享交换平台；"
    assert clauses[("一", "1", "②")].headings == ("夯实数据基础", "推进公共数据汇聚")
    assert clauses[("一", "2")].text == "2.推动数据开放。制定公共数据开放清单。"


def test_half_parenthesis_items(tmp_path: Path) -> None:
    text = """
某区安全生产专项整治实施方案
为深化安全生产专项整治，制定本方案。
一、整治重点
（一）危险化学品。重点整治以下问题：
1)未落实重大危险源包保责任；
2)安全距离不足；
3)特殊作业管理不规范。
（二）消防安全。开展高层建筑消防隐患排查。
"""
    clauses = by_label(parse(tmp_path, text))
    items = [p for p in clauses if p[:2] == ("一", "（一）") and len(p) == 3]
    assert items == [("一", "（一）", "1）"), ("一", "（一）", "2）"), ("一", "（一）", "3）")]
    assert clauses[("一", "（一）", "2）")].text == "2)安全距离不足；"
    assert clauses[("一", "（二）")].text.startswith("（二）消防安全")


def test_parts_with_headings_on_their_own_line(tmp_path: Path) -> None:
    text = """
某市国土空间规划实施方案
为做好国土空间规划实施工作，制定本方案。
第一部分 总体要求
一、指导思想
坚持以人民为中心的发展思想，统筹发展和安全。
二、主要目标
到2025年，国土空间开发保护格局基本形成。
第二部分
重点任务
一、优化空间格局
严格落实三条控制线。
二、
强化用途管制
健全国土空间用途管制制度。
"""
    clauses = by_label(parse(tmp_path, text))
    assert [p for p in clauses if len(p) == 1] == [("第一部分",), ("第二部分",)]
    assert [p[1] for p in clauses if len(p) == 2 and p[0] == "第二部分"] == ["一", "二"]
    one = clauses[("第一部分", "一")]
    assert one.headings == ("总体要求",)
    assert one.text == "一、指导思想\n坚持以人民为中心的发展思想，统筹发展和安全。"
    # a label alone on its line takes the next line as its title
    assert clauses[("第二部分", "一")].headings == ("重点任务",)
    two = clauses[("第二部分", "二")]
    assert two.text == "二、\n强化用途管制\n健全国土空间用途管制制度。"


NOTICE = """
某市人民政府办公室关于印发《某市数字政府建设实施方案》的通知
某政办发〔2024〕5号
各县区人民政府，市政府各部门：
现将《某市数字政府建设实施方案》印发给你们，请认真贯彻执行。
某市数字政府建设实施方案
为加快数字政府建设，结合我市实际，制定本方案。
一、总体要求
（一）指导思想。坚持以人民为中心。
（二）工作目标。到2025年，基本建成数字政府。
二、重点任务
（一）建设一体化平台。统筹建设政务云。
（二）推进数据共享。建立全市数据目录。
"""


def test_notice_distributing_a_plan(tmp_path: Path) -> None:
    clauses = parse(tmp_path, NOTICE)
    preamble = [c for c in clauses if c.kind == "preamble"]
    assert preamble[0].text == "现将《某市数字政府建设实施方案》印发给你们，请认真贯彻执行。"
    assert preamble[1].text == "某市数字政府建设实施方案\n为加快数字政府建设，结合我市实际，制定本方案。"
    labels = [c.label for c in clauses if c.kind == "clause"]
    assert labels == ["一", "一（一）", "一（二）", "二", "二（一）", "二（二）"]


def test_notice_with_numbered_requirements_before_the_plan(tmp_path: Path) -> None:
    from ingest.clauses import NOTICE_LABEL  # (imported here so that the other tests run on older parsers)

    text = NOTICE.replace(
        "请认真贯彻执行。",
        "并提出如下要求：\n一、加强组织领导。各地要高度重视。\n二、抓好贯彻落实。各部门要细化措施。",
    )
    clauses = parse(tmp_path, text)
    labels = [c.label_path for c in clauses if c.kind == "clause"]
    assert labels[:2] == [(NOTICE_LABEL, "一"), (NOTICE_LABEL, "二")]
    # the plan's numbering starts again and parses in full
    assert labels[2:] == [("一",), ("一", "（一）"), ("一", "（二）"), ("二",), ("二", "（一）"), ("二", "（二）")]
    plan = by_label(clauses)
    assert plan[("二", "（二）")].text == "（二）推进数据共享。建立全市数据目录。"
    assert plan[("二", "（二）")].headings == ("重点任务",)


def test_notice_distributing_two_documents(tmp_path: Path) -> None:
    text = """
某市人民政府关于印发两个实施方案的通知
各县区人民政府：
现将《某市数字政府建设实施方案》《某市数据安全保障方案》印发给你们，请认真贯彻执行。
某市数字政府建设实施方案
一、总体要求
到2025年，基本建成数字政府。
二、重点任务
统筹建设政务云。
某市数据安全保障方案
一、总体要求
建立数据分类分级保护制度。
"""
    clauses = parse(tmp_path, text)
    labels = [c.label_path for c in clauses if c.kind == "clause"]
    assert labels == [("一",), ("二",), ("某市数据安全保障方案", "一")]
    second = next(c for c in clauses if c.label_path == ("某市数据安全保障方案", "一"))
    assert second.text == "一、总体要求\n建立数据分类分级保护制度。"


def test_an_item_that_opens_with_a_year_is_an_item(tmp_path: Path) -> None:
    """``8. 2024年9月底前…`` is item 8 (a decimal has no four-digit year after its point), and the numbering that
    runs on across sections continues after it."""
    text = (
        "某市2024年工作要点\n一、完善制度\n（一）加强立法\n1.制定规章2件。\n2.开展清理工作。\n"
        "3. 2024年9月底前完成专项清理。\n（二）规范决策\n4.公布决策事项目录。\n5. 2024年6月底前完成评估。\n"
    )
    labels = [c.label for c in parse(tmp_path, text) if c.kind == "clause"]
    assert {"一（一）3", "一（二）4", "一（二）5"} <= set(labels), labels
