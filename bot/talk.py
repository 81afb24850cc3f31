"""What a conversation with the bot carries from one question to the next, in plain text (no
Discord here): the context a follow-up is asked after, and which messages ask anything at all.

A follow-up is asked after the question it follows (that question's own words, not the chain
of questions before it) and the subject of that question's answer: the names its first quote
gives. So the subject carries on down a chain of follow-ups while earlier questions drop out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.records import Answer
from index.words import STOPWORDS, WORD

# Names given as an answer's subject, at most.
SUBJECT_NAMES = 4
# Messages of more words than this are never taken for a mere "thanks" or "ok".
ACKNOWLEDGEMENT_WORDS = 6
_ACKNOWLEDGING_TEXT = """
    thanks thank thankyou thx ty tysm tyvm cheers ta merci gracias danke you u so much very
    lot a ok okay k kk oki okey alright right fine cool nice great awesome perfect amazing wow
    good neat sweet lol lmao haha hah heh hehe xd yes yeah yep yup no nope nah sure np got it
    gotcha understood makes sense appreciated appreciate that this love bot citebot
    interesting brilliant excellent well done
"""
_ACKNOWLEDGING = frozenset(_ACKNOWLEDGING_TEXT.split())
# How a question (or a request) in a thread starts, when it does not end with "?".
_ASKING_START_TEXT = """
    who whom whose what which when where why how is are was were do does did can could will
    would should shall has have had may might and but also tell show explain describe list
    name give find any anything more
"""
_ASKING_STARTS = frozenset(_ASKING_START_TEXT.split())
_GAP_IN_A_NAME = re.compile(r"[ \t]+")
# A quote line of an answer as Discord shows it: "> quote [1][2]".
_QUOTE_LINE = re.compile(r"^> (?P<quote>.*?)(?: (?:\[\d+\])+)?$", re.MULTILINE)
_ESCAPED = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class Context:
    """What a follow-up is asked after: the question it follows, in its asker's own words,
    and the subject of that question's answer."""

    question: str
    subject: str = ""

    def text(self) -> str:
        """The question, then the subject."""
        return " ".join(part for part in (self.question.strip(), self.subject) if part)


@dataclass(frozen=True, slots=True)
class ThreadTalk:
    """A thread that is a conversation with the bot (one it opened on a question, or a post
    in a forum whose posts are questions): who asked there, and what the latest question
    there was asked after (None for nothing yet)."""

    asker_id: int | None
    context: Context | None


def names_in(text: str, most: int = SUBJECT_NAMES) -> list[str]:
    """The names `text` gives, in order, each once: runs of capitalised words (apart from
    common words such as "The" or "She")."""
    names: list[str] = []
    run: list[str] = []
    end = 0

    def close() -> None:
        name = " ".join(run)
        if run and name not in names:
            names.append(name)
        run.clear()

    for word in WORD.finditer(text):
        capitalised = word.group()[0].isupper() and word.group().lower() not in STOPWORDS
        if not capitalised or (run and not _GAP_IN_A_NAME.fullmatch(text[end : word.start()])):
            close()
        if capitalised:
            run.append(word.group())
        end = word.end()
    close()
    return names[:most]


def subject_of(answer: Answer) -> str:
    """An answer's subject: the names its first quote gives ("" for an abstention)."""
    return " ".join(names_in(answer.answer[0].text)) if answer.answer else ""


def subject_shown(content: str) -> str:
    """The subject of an answer as Discord shows it (its first quote line, markdown and the
    escapes that keep it inert taken off): the same as `subject_of` the answer gave."""
    found = _QUOTE_LINE.search(content)
    if found is None:
        return ""
    quote = _ESCAPED.sub(r"\1", found["quote"].replace("\u200b", "").replace("**", ""))
    return " ".join(names_in(quote))


def is_acknowledgement(text: str) -> bool:
    """Whether `text` only thanks, agrees or laughs ("thanks!", "ok 👍", "lol"): nothing to
    answer."""
    words = [word.lower() for word in WORD.findall(text)]
    return len(words) <= ACKNOWLEDGEMENT_WORDS and all(word in _ACKNOWLEDGING for word in words)


def asks(text: str) -> bool:
    """Whether `text` reads as a question or a request for something: it ends with "?" or
    starts as questions do ("who", "how", "and", "tell me"...)."""
    words = WORD.findall(text)
    if not words or is_acknowledgement(text):
        return False
    return text.rstrip().endswith("?") or words[0].lower() in _ASKING_STARTS
