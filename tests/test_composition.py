"""Answer composition without an index: lists a colon announces, article names, English framing, questions of
several parts, and the English glossary read from CC-CEDICT."""

from __future__ import annotations

from assistant.answer.compose import combine
from assistant.answer.extractive import (
    ExtractiveAnswerer,
    announced,
    english_label,
    fair_share,
    history_line,
    in_english,
    item_lead,
    listed_items,
    with_provisos,
)
from assistant.retrieval.english import Glossary, base_forms
from assistant.retrieval.query import QueryAnalyzer, question_parts
from assistant.text import split_sentences
from assistant.types import Answer, Citation, Clause, DocumentMeta, Hit

MEASURES = "第三十六条 经批准，可以采取下列措施：\n（一）对特定人员实施采样检验；\n（二）暂时封锁有关国境；\n（三）其他必要的应急处置措施。\n前款措施由国务院决定。"


def test_the_items_a_colon_announces_follow_it_each_cut_to_its_first_phrase() -> None:
    end = MEASURES.index("：") + 1
    assert listed_items(MEASURES, end) == ["（一）对特定人员实施采样检验", "（二）暂时封锁有关国境", "（三）其他必要的应急处置措施"]
    assert all(item.replace("…", "") in MEASURES for item in listed_items(MEASURES, end, budget=40))
    assert listed_items(MEASURES, MEASURES.index("前款")) == []  # no numbered line follows


def test_items_written_on_in_the_announcing_line_are_items_too() -> None:
    text = "7.强化兜底保障。公办机构优先接收以下老年人入住：（1）特困老年人；（2）失能、半失能老年人；（3）独居老年人。（责任单位：市民政局）"
    spans = announced(text, split_sentences(text))
    assert [text[a:b] for a, b in spans][1] == "公办机构优先接收以下老年人入住："
    assert listed_items(text, spans[1][1]) == ["（1）特困老年人", "（2）失能、半失能老年人", "（3）独居老年人"]


def test_short_items_leave_the_budget_they_do_not_use_to_the_long_ones() -> None:
    assert fair_share([5, 5, 50], 60) == 50  # an equal share (20) would cut the long item
    assert fair_share([30, 30, 30], 60) == 20  # all long: an equal share
    assert fair_share([5, 40, 40], 60) == 27
    assert fair_share([], 60) == 0
    rules = "第九条 有下列情形之一的，依法给予处分：\n（一）迟报的；\n（二）瞒报的；\n（三）擅自改变检测机构出具的检测结论并对外公布的；\n（四）拒不执行的。"
    items = listed_items(rules, rules.index("：") + 1, budget=60)
    assert items[2] == "（三）擅自改变检测机构出具的检测结论并对外公布的"  # whole, though longer than 60 // 4
    assert sum(len(i) for i in items) <= 60


def test_article_labels_in_english() -> None:
    assert english_label("第二十条") == "Article 20"
    assert english_label("第一百二十条之一第二款") == "Article 120-1(2)"
    assert english_label("二（四）1") == "二（四）1"  # a plan's label stays as it is


def test_an_english_answer_frames_each_clause_once() -> None:
    meta = DocumentMeta(source="a.md", title="中华人民共和国街巷法")

    def hit(label: str) -> Hit:
        return Hit(clause=Clause(source="a.md", label_path=(label,), text="……", start=0, end=2), meta=meta, score=1.0)

    first, second = hit("第十六条"), hit("第二十条")
    framed = in_english([("", "甲。", first), ("", "乙。", first), ("", "丙。", second)])
    assert [prefix for prefix, _, _ in framed] == [
        "Under 《中华人民共和国街巷法》 Article 16: ", "", "Under 《中华人民共和国街巷法》 Article 20: ",
    ]


def test_the_history_line_asked_for() -> None:
    history = ("2003年9月3日国务院令第390号公布", "2016年2月6日第一次修订", "2020年11月29日第二次修订")
    assert history_line(history, "修订", "最近一次修订是什么时候") == history[2]
    assert history_line(history, "令", "最初以哪一号令公布") == history[0]


def test_a_question_of_several_parts_is_split_at_its_question_marks() -> None:
    assert question_parts("体育法什么时候修正的？它从哪天开始施行？") == ["体育法什么时候修正的？", "它从哪天开始施行？"]
    assert question_parts("什么是行政复议？") == ["什么是行政复议？"]
    assert question_parts("谁负责？好吗？") == ["谁负责？好吗？"]  # parts too short to stand alone


def citation(n: int, cid: str) -> Citation:
    return Citation(n=n, source="a.txt", title="T", doc_number="", clause=f"第{n}条", text="……", clause_id=cid)


def test_the_answers_to_the_parts_are_joined_with_citations_renumbered() -> None:
    first = Answer(question="甲？", text="甲是一[1]。甲是二[2]。", citations=[citation(1, "x"), citation(2, "y")])
    second = Answer(question="乙？", text="乙是三[1]。乙是一[2]。", citations=[citation(1, "z"), citation(2, "x")])
    unanswered = Answer(question="丙？", text="文件中没有找到……", abstained=True)
    combined = combine("甲？乙？丙？", [first, second, unanswered])
    assert [(c.n, c.clause_id) for c in combined.citations] == [(1, "x"), (2, "y"), (3, "z")]
    assert combined.text.splitlines()[:2] == ["甲是一[1]。甲是二[2]。", "乙是三[3]。乙是一[1]。"]
    assert "丙？" in combined.text.splitlines()[2] and not combined.abstained
    assert combine("丙？丙？", [unanswered, unanswered]).abstained


def test_english_words_reach_their_chinese_terms_through_the_dictionary() -> None:
    glossary = Glossary.load()
    known = {"诉讼", "受托人", "复议", "武装力量", "军队"}
    translated = dict(glossary.translate("the trustee of the armed forces files lawsuits for reconsideration", lambda w: 1.0 if w in known else 0.0))
    assert "受托人" in translated["trustee"] and "诉讼" in translated["lawsuits"] and "复议" in translated["reconsideration"]
    assert set(translated["armed forces"]) & {"武装力量", "军队"}
    assert "the" not in translated and "of" not in translated  # stop words translate to nothing
    assert "浙江" in glossary.proper_names("In Zhejiang, who decides?")
    assert "reconsider" in base_forms("reconsideration") and "issue" in base_forms("issuing")


def test_a_proviso_stays_with_the_rule_it_qualifies() -> None:
    text = "第九条 申请人不得委托他人办理；但是，因病不能亲自办理的除外。前款规定不适用于法人；除本条例另有规定外，由县级部门受理。"
    spans = with_provisos(text, split_sentences(text))
    assert [text[a:b] for a, b in spans] == [
        "第九条 申请人不得委托他人办理；但是，因病不能亲自办理的除外。",
        "前款规定不适用于法人；除本条例另有规定外，由县级部门受理。",
    ]
    plain = "甲应当报告；乙应当登记。"
    assert [plain[a:b] for a, b in with_provisos(plain, split_sentences(plain))] == ["甲应当报告；", "乙应当登记。"]


PENALTIES = (
    "第四十条 检测机构有下列情形之一的，责令改正，处3万元以上15万元以下的罚款：\n"
    "（一）超出资质范围出具检测报告的；\n（二）伪造检测数据的。\n"
    "检测机构转让资质的，依照前款规定处罚。"
)


def test_an_item_is_read_with_the_line_announcing_its_list() -> None:
    first, second = PENALTIES.index("（一）"), PENALTIES.index("（二）")
    lead = item_lead(PENALTIES, second + 3)
    assert lead is not None and PENALTIES[lead[0] : lead[1]].startswith("第四十条") and PENALTIES[lead[1] - 1] == "："
    assert item_lead(PENALTIES, first) == lead
    assert item_lead(PENALTIES, 5) is None  # the lead itself is no item
    assert item_lead(PENALTIES, PENALTIES.index("检测机构转让")) is None  # nor the paragraph after the list
    assert item_lead("（一）没有引导语的项；\n（二）另一项。", 8) is None  # items no line announces


def test_an_item_quoted_for_a_question_comes_with_what_its_lead_says_of_it() -> None:
    meta = DocumentMeta(source="rules.md", title="检测机构管理条例")
    clause = Clause(source="rules.md", label_path=("第四十条",), text=PENALTIES, start=0, end=len(PENALTIES))
    hits = [Hit(clause=clause, meta=meta, score=1.0, coverage=1.0)]
    query = QueryAnalyzer([meta]).analyse("伪造检测数据的怎么处理？")
    answer = ExtractiveAnswerer().answer(query, hits, {t.term: 1.0 for t in query.key_terms})
    assert "伪造检测数据" in answer.text and "3万元以上15万元以下" in answer.text, answer.text
    assert answer.text.index("3万元") < answer.text.index("伪造")  # the lead before the item, as written
    assert answer.text.count("伪造检测数据") == 1 and "超出资质范围" not in answer.text  # the item, not the list
