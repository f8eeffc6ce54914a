"""Turn chosen sentences into an answer with numbered citations, and the answer that abstains."""

from __future__ import annotations

from ..text import in_script, is_traditional
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
