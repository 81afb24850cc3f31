"""Write a held-out news-quiz set from ../shared/data/answer_train's validation weeks.

The reranker never trains on these weeks (`train.pairs.is_valid_week`) and no weight of the
answer scorer is fitted on them, so they judge citebot on news questions it was not tuned
on: more of them than news_dev's 56, asked on their quiz day among the pages a search
returned for every validation week's questions (dated by their address, as
"/2023/03/16/"). A question is kept when one of its pages of the week before its quiz day
holds a gold answer, as the articles that answer news_dev's questions are (for 54 of 56);
the answers are the forms a news sentence would hold (`train.pairs.answer_variants`:
"Beirut, Lebanon" is answered by "Lebanon" too). The set has no questions to abstain on.

    python -m bench.quiz_heldout OUT
    citebot build OUT/articles.jsonl --index IDX
    citebot eval OUT/questions.jsonl --index IDX
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from index.evaluate import contains_answer
from train.pairs import Quiz, answer_variants, is_valid_week, read_pages, read_quizzes

ANSWER_TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "answer_train"
_ADDRESS_DATE = re.compile(r"/(20\d\d)[/-](\d\d)[/-](\d\d)/")
# How many days before its quiz day an answering page may be.
WEEK = 7


def held_out_quizzes(data: Path) -> list[Quiz]:
    """The validation weeks' quizzes that have search pages."""
    quizzes = read_quizzes(data / "questions.jsonl.gz")
    return [quiz for quiz in quizzes if is_valid_week(quiz.week) and quiz.pages]


def address_date(url: str) -> date | None:
    """The date a page's address holds ("/2023/03/16/"), if any."""
    dated = _ADDRESS_DATE.search(url)
    if dated is None:
        return None
    try:
        return date(*(int(part) for part in dated.groups()))
    except ValueError:
        return None


def article_rows(pages: dict[str, tuple[str, str]]) -> Iterable[dict[str, str]]:
    """Each page as an article record, dated where its address holds a date."""
    for url, (title, text) in pages.items():
        row = {"id": url, "url": url, "title": title, "text": text}
        published = address_date(url)
        if published is not None:
            row["published"] = published.isoformat()
        yield row


def question_rows(
    quizzes: list[Quiz], pages: dict[str, tuple[str, str]]
) -> Iterable[dict[str, object]]:
    """The quizzes a page of their week answers, asked on their quiz day."""
    for quiz in quizzes:
        asked_on = date.fromisoformat(quiz.week.replace("/", "-"))
        answers = list(dict.fromkeys(v for answer in quiz.answers for v in answer_variants(answer)))
        of_the_week = [
            pages[url][1]
            for url in quiz.pages
            if url in pages and _within_week(address_date(url), asked_on)
        ]
        if of_the_week and contains_answer(of_the_week, answers):
            yield {"question": quiz.question, "answers": answers, "asked_on": asked_on.isoformat()}


def _within_week(published: date | None, asked_on: date) -> bool:
    return published is not None and 0 <= (asked_on - published).days <= WEEK


def write_jsonl(path: Path, rows: Iterable[Mapping[str, object]]) -> int:
    """Write `rows` one JSON object a line; how many."""
    count = 0
    with path.open("w", encoding="utf-8") as lines:
        for row in rows:
            lines.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def main() -> None:
    """Write OUT/articles.jsonl and OUT/questions.jsonl."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=ANSWER_TRAIN)
    args = parser.parse_args()
    for name in ("questions.jsonl.gz", "pages.jsonl.gz"):
        if not (args.data / name).is_file():
            parser.error(f"{args.data / name} is missing: --data is answer_train's folder")
    quizzes = held_out_quizzes(args.data)
    pages = read_pages(args.data / "pages.jsonl.gz", {url for q in quizzes for url in q.pages})
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"cannot write into {args.out}: {error.strerror}")
    articles = write_jsonl(args.out / "articles.jsonl", article_rows(pages))
    questions = write_jsonl(args.out / "questions.jsonl", question_rows(quizzes, pages))
    print(f"{len(quizzes)} quizzes: {articles} pages, {questions} questions a page answers")


if __name__ == "__main__":
    main()
