"""Turn chosen sentences into an answer with numbered citations, and the answer that abstains."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..retrieval.query import KeyTerm
from ..text import in_script, is_english, is_traditional, normalise
from ..types import CANNOT_ANSWER, Answer, Citation, Hit


def cannot_answer(question: str, hits: list[Hit], reason: str, related: int = 3, elsewhere: str = "") -> Answer:
    """The answer that says the documents do not answer, listing the closest clauses as related (never as the
    answer); ``elsewhere`` names the place no document covers when the related clauses are another region's."""
    script = "traditional" if is_traditional(question) else "simplified"
    text = CANNOT_ANSWER
    shown = hits[:related]
    if elsewhere:
        text += f"已收录的文件中没有适用于{elsewhere}的规定"
        text += "；其他地区的以下条款可能相关，仅供参考：" if shown else "。"
    elif shown:
        text += "以下条款可能相关，供参考："
    text = in_script(text, script)
    if is_english(question):  # an English question gets an English sentence first
        lead = f"No ingested document applies in {elsewhere}." if elsewhere else "The ingested documents do not answer this."
        text = f"{lead} {text}"
    if shown:
        text += "；".join(f"《{h.meta.title}》{h.clause.label}" for h in shown) + "。"
    return Answer(
        question=question,
        text=text,
        abstained=True,
        related=[Citation.from_hit(n, h) for n, h in enumerate(shown, 1)],
        notice=reason,
    )


def chinese_date(iso: str) -> str:
    parts = iso.split("-")
    if len(parts) == 3:
        return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日"
    return iso


def compose(question: str, parts: list[tuple[str, str, Hit]]) -> Answer:
    """Join answer sentences, each followed by the number of the clause it comes from."""
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    lines = []
    for prefix, sentence, hit in parts:
        cid = hit.clause.id
        if cid not in numbers:
            numbers[cid] = len(numbers) + 1
            citations.append(Citation.from_hit(numbers[cid], hit, highlight=sentence.strip("…")))
        body = sentence.rstrip("。；;，, ")
        lines.append(f"{prefix}{body}[{numbers[cid]}]")
    separator = "\n" if any(p for p, _, _ in parts) and len(parts) > 1 and len({h.clause.source for _, _, h in parts}) > 1 else "。"
    text = separator.join(lines)
    if separator == "。" or not text.endswith("。"):
        text += "。"
    return Answer(question=question, text=text, citations=citations)


_UNIT_RE = re.compile(r"[^。\n]+(?:。|\n|$)")
"""A sentence of an answer with its citation marks (answers end sentences with 。 or a line)."""
_CITED_RE = re.compile(r"\[\d+\]")


def new_sentences(answer: Answer, said: list[str]) -> list[str]:
    """The sentences of an answer (with their citation marks) that the texts already said do not hold."""
    told = _CITED_RE.sub("", "".join(said))
    return [u for u in _UNIT_RE.findall(answer.text) if _CITED_RE.sub("", u).strip("。\n ") not in told]


def adds_own_words(answer: Answer, said: list[str], terms: Sequence[KeyTerm], before: str) -> bool:
    """Whether an answer adds to what was said a sentence holding one of a part's key ``terms`` that the part
    ``before`` it does not hold: the answer to two parts asked as one speaks to the later part, not only the
    earlier (情节严重 in "情节严重的，处…"; nothing of 期满 or 撤销 in another sentence of the article)."""
    if answer.abstained:
        return False
    added, earlier = normalise("".join(new_sentences(answer, said))), normalise(before)
    return bool(added) and any(t.found(added) for t in terms if not t.found(earlier))


def combine(question: str, answers: list[Answer]) -> Answer:
    """One answer to a question of several parts from the answers to each part, in order: citations renumbered
    across the parts, a part the documents do not answer said so in its place. All parts unanswered: the first
    part's abstention."""
    if all(a.abstained for a in answers):
        return replace(answers[0], question=question)
    numbers: dict[str, int] = {}
    citations: list[Citation] = []
    lines: list[str] = []
    said: list[str] = []
    for answer in answers:
        if answer.abstained:
            if answer.text not in said:
                said.append(answer.text)
                lines.append(in_script(CANNOT_ANSWER, "traditional" if is_traditional(question) else "simplified").rstrip("。")
                             + f"（{answer.question.strip()}）")
            continue
        # what an earlier part already said is not said again (施行 and 通过 of one law come from one header)
        units = new_sentences(answer, said)
        said.append(answer.text)
        if not units:
            continue
        text = "".join(units).strip()
        mapping = {}
        used = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        for c in answer.citations:
            if c.n not in used:
                continue
            if c.clause_id not in numbers:
                numbers[c.clause_id] = len(numbers) + 1
                citations.append(replace(c, n=numbers[c.clause_id]))
            mapping[c.n] = numbers[c.clause_id]
        lines.append(re.sub(r"\[(\d+)\]", lambda m, mp=mapping: f"[{mp.get(int(m.group(1)), m.group(1))}]", text))
    seen: set[str] = set()
    retrieved = [c for a in answers for c in a.retrieved if not (c.clause_id in seen or seen.add(c.clause_id))]
    return Answer(
        question=question, text="\n".join(lines), citations=citations, retrieved=retrieved,
        notice=" ".join(dict.fromkeys(a.notice for a in answers if a.notice)), engine=answers[0].engine,
    )
