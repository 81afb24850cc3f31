""" "Who is X?": what the articles say about a person, gathered across articles.

A profile question names someone ("who is Lety Pérez?", "who's Anthony"). Its candidates are
the sentences that mention the name, in every article that names them, found by full-text
search for the name as a phrase; an article that gives the full name once and a short form
after ("Pérez") has those sentences counted too. Sentences that define the person rank first:
"Guatemalan migrant Lety Pérez ...", "X, the ... of ...", "X is ...". Each mention is read as
the whole name it stands in ("Carmelo Anthony"), so when one name belongs to several people
they are told apart and listed, each with a citation, instead of one being picked silently.
With the reranker on, it reads "who is X?" with the best mentions: those it judges to answer
are the defining ones, and only people a defining mention describes are listed as namesakes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from index.answer import MAX_QUOTES, RERANKED, ScoredSentence, judge, repeats
from index.phrases import PhraseKind, find_phrases
from index.records import StoredArticle
from index.rerank.model import Judge
from index.words import ROLE_NOUNS, STOPWORDS, TITLES, fold, split_words

# The reranker's logit below which a sentence the rules read as defining someone does not
# (a product listing, a byline): where the reranker gives it less than a 5% chance. Above
# it the rules stand: the reranker reads "her young son, Anthony." in a sentence about his
# mother at -1.7 to -2.3 for "who is Anthony?". (On round 6's validation "who is X?" pairs
# the reranker alone has precision 0.73 at recall 0.96 at -3, 0.85 / 0.93 at 0.)
RULE_OVERRULED_BELOW = -3.0
# After the name: ", the ...", ", a ...", ", 42, ...", ", former ..." or " is ...", " was
# ..."; not a conjunction or an adverb that goes on with the sentence (", and ...", ", also").
_DEFINED_AFTER = re.compile(
    r"^(?:[’']s)?(?:,\s+(?:(?:the|a|an|who)\b|\d|(?!(?:and|but|or|nor|so|yet|also|then|too|as|which"
    r"|while|though|although|because|if|when|where|after|before|since|said|says)\s)[a-z]+\s)"
    r"|\s+(?:is|was|has been|became)\s)"
)
# Before the name, the word right before it ("migrant Lety Pérez", "Gov. Ron DeSantis").
_WORD_BEFORE = re.compile(r"(?:^|[\s(])(?P<word>[A-Za-z][\w.-]*)\s+$")
# Titles that say how to address someone, not who they are ("Mr. Johnson").
_HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "sir"})
# Before the name, who they are to someone, the name ending the clause: "her young son,
# Anthony." ("his lawyer, X,").
RELATION_BEFORE = re.compile(r"\b(?:his|her|their)\s+(?:[\w’'-]+\s+){0,2}[a-z][\w’'-]*,\s+$")
CLAUSE_END = re.compile(r"^\s*(?:[,.;:)]|$)")
# Lowercase words a name may hold ("Ana de Armas", "Ludwig van Beethoven").
_PARTICLES = frozenset({"de", "da", "del", "della", "di", "du", "la", "le", "van", "von", "bin"})
# A possessive ends a person's name: "Marc Anthony’s Viviendo Tour" is Marc Anthony's,
# "Truss’ Oct. 20 resignation" Truss's.
_POSSESSIVE = re.compile(r"[’'](?:s\b|(?=\s))")
# What follows a last name: "Robert F. Kennedy Jr."
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# After the name, where the person's name ends: "JD Vance of Ohio".
_NAME_GOES_ON = re.compile(r"\s+(?:of|for|the|&)\s")
# Nouns that make a name phrase a thing named after a person, not the person: "the Trump
# Organization", "the James Webb Space Telescope".
_NAMED_AFTER = frozenset(
    {"organization", "organisation", "administration", "foundation", "campaign", "group"}
    | {"company", "corporation", "inc", "corp", "llc", "center", "centre", "institute"}
    | {"university", "college", "school", "library", "museum", "hospital", "hotel", "tower"}
    | {"towers", "airport", "stadium", "arena", "field", "park", "bridge", "street", "avenue"}
    | {"road", "hall", "award", "awards", "prize", "trophy", "cup", "act", "doctrine", "rule"}
    | {"telescope", "show", "tour", "era", "estate", "family", "trust", "fund", "memorial"}
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A sentence that names the asked-for person as `person` (the whole name it stands in,
    or the full name the article gave), and whether it defines them."""

    sentence: ScoredSentence
    person: str
    defining: bool


@dataclass(frozen=True, slots=True)
class Profile:
    """The sentences to quote about a name and, when it names several people, who they are
    (one per quoted sentence, in order)."""

    chosen: list[ScoredSentence]
    people: list[str]


def name_words(name: str) -> list[str]:
    """The name's words, folded (as full-text search and `mentions` compare them)."""
    return split_words(name)


def names_surname(text: str, name: str) -> bool:
    """Whether `text` holds the name's last word (the short form a later mention uses)."""
    return bool(_spans_of(text, name_words(name)[-1:], short_form=False))


def mentions(
    name: str, sentences: Sequence[ScoredSentence], articles: Mapping[str, StoredArticle]
) -> list[Mention]:
    """The sentences that name the person, best first: defining ones, then by score; each
    with the name marked as its phrase. A short name that its article gives several people
    ("Biden" beside Joe and Hunter Biden) names no one in particular: such a sentence is
    left out unless no sentence names someone in particular."""
    words = name_words(name)
    found: list[Mention] = []
    ambiguous: list[Mention] = []
    full_names = {
        article_id: _full_names(articles[article_id], words)
        for article_id in {scored.candidate.article_id for scored in sentences}
    }
    for scored in sentences:
        candidate = scored.candidate
        article = articles[candidate.article_id]
        sentence = article.text[candidate.start : candidate.end]
        known = full_names[article.id]
        for start, end in _spans_of(sentence, words, short_form=len(words) > 1 and bool(known)):
            whole = _whole_name(sentence, start, end)
            if whole is None or _is_acronym(sentence[start:end], name):
                continue
            if len(words) > 1:
                whole = _as_asked(sentence, whole, (start, end), words)
                if whole is None:
                    continue
            start, end = whole
            written = sentence[start:end]
            if _is_pairing(written, words):
                continue
            holding = _names_holding(known, written)
            # The name is the phrase to mark: it says which person the quote is about.
            named = replace(candidate, highlight=(candidate.start + start, candidate.start + end))
            mention = Mention(
                replace(scored, candidate=named),
                holding[0] if len(holding) == 1 else written,
                defines_person(sentence, start, end),
            )
            (ambiguous if len(holding) > 1 else found).append(mention)
            break
    found = _shortest_names(found or ambiguous)
    found.sort(key=lambda m: (not m.defining, -m.sentence.score))
    return found


def _as_asked(
    text: str, whole: tuple[int, int], found: tuple[int, int], words: list[str]
) -> tuple[int, int] | None:
    """For a full name asked (`words`), the name `whole` in `text` that holds the `found`
    words as the person asked about: ending where the asked name ends, unless only a suffix
    follows ("Donald Trump T-shirt" is Donald Trump, "Robert F. Kennedy Jr." stays); None
    when the asked name's last word alone was found in someone else's name ("Tom McCarthy"
    for "Kevin McCarthy", "Hunter Biden" for "Joe Biden", "Charles II" for "King
    Charles")."""
    start, end = whole
    if split_words(text[slice(*found)]) != words:
        return None if any(word not in words for word in split_words(text[start:end])) else whole
    if any(word not in _SUFFIXES for word in split_words(text[found[1] : end])):
        end = found[1]
    return start, end


def _shortest_names(found: list[Mention]) -> list[Mention]:
    """Each mention as the person of the shortest full name that its own ends with: words
    before a name that the rules did not cut are no part of it ("See Taylor Swift",
    "Democrat Kamala Harris" are Taylor Swift and Kamala Harris)."""
    full_names = {m.person for m in found if len(split_words(m.person)) > 1}
    shortest: dict[str, str] = {}
    for person in {m.person for m in found}:
        ends = [name for name in full_names if _ends_with(person, name)]
        shortest[person] = min(ends, key=lambda name: len(split_words(name)), default=person)
    return [replace(m, person=shortest[m.person]) for m in found]


def judged(
    question: str,
    found: Sequence[Mention],
    articles: Mapping[str, StoredArticle],
    reranker: Judge,
) -> list[Mention]:
    """`found` with the reranker's judgement of the first `RERANKED`, the surest first: those
    it reads as answering `question` define the person, and so do those `defines_person`
    reads as defining unless it is fairly sure they do not (`RULE_OVERRULED_BELOW`); the
    others follow as they were."""
    read = found[:RERANKED]
    logits = judge(question, [m.sentence.candidate for m in read], articles, reranker)
    order = sorted(range(len(read)), key=lambda i: -logits[i])
    return [
        replace(
            read[i],
            defining=logits[i] > 0 or (read[i].defining and logits[i] > RULE_OVERRULED_BELOW),
        )
        for i in order
    ] + list(found[RERANKED:])


def choose(
    found: Sequence[Mention],
    name: str,
    articles: Mapping[str, StoredArticle],
    *,
    described_only: bool = False,
) -> Profile:
    """Up to three facts: about each person, when the asked `name` belongs to several, else
    from sentences of `articles` that do not repeat each other's words (`repeats`: a story
    reprinted), preferring different articles. People come in this order:
    those a mention defines, then one known by the asked name alone ("Anthony", as an article
    calls a boy it never names in full; not when the name is the last of every other
    person's, as "Biden" is of Joe and Hunter Biden's), then the most often named. With
    `described_only`, the people no defining mention describes are left out when another is
    described (a name in a product listing is no namesake)."""
    by_person: dict[str, list[Mention]] = {}
    for mention in found:
        by_person.setdefault(_person_key(mention.person), []).append(mention)
    if described_only:
        described = {k: g for k, g in by_person.items() if any(m.defining for m in g)}
        by_person = described or by_person
        found = [mention for mention in found if _person_key(mention.person) in by_person]
    asked = _person_key(name)
    if (
        asked in by_person
        and len(by_person) > 1
        and all(_ends_with(person, asked) for person in by_person if person != asked)
    ):
        # Every other person has the asked name as their last ("Joe Biden", "Hunter
        # Biden"): it names one of them, in an article that said which elsewhere.
        del by_person[asked]
        found = [mention for mention in found if _person_key(mention.person) != asked]
    if len(by_person) > 1:
        people = sorted(
            by_person.items(),
            key=lambda item: (
                not any(m.defining for m in item[1]),
                item[0] != asked,
                -len(item[1]),
            ),
        )[:MAX_QUOTES]
        return Profile([g[0].sentence for _, g in people], [g[0].person for _, g in people])
    chosen: list[ScoredSentence] = []
    for pass_ in ("new article", "any"):
        for mention in found:
            if len(chosen) == MAX_QUOTES:
                break
            sentence = mention.sentence
            quoted = {s.candidate.article_id for s in chosen}
            if any(repeats(sentence.candidate, s.candidate, articles) for s in chosen) or (
                pass_ == "new article" and sentence.candidate.article_id in quoted
            ):
                continue
            chosen.append(sentence)
    return Profile(chosen, [])


def _person_key(person: str) -> str:
    """The name as people are told apart by: folded, initials run together ("J.D. Vance" and
    "JD Vance" are one)."""
    words: list[str] = []
    for word in split_words(person):
        if len(word) == 1 and words and len(words[-1]) < 3 and words[-1].isalpha():
            words[-1] += word
        else:
            words.append(word)
    return " ".join(words)


def _ends_with(person: str, name: str) -> bool:
    """Whether `name` is the last of the person's names ("Biden" of "Joe Biden", "Kennedy" of
    "Robert F. Kennedy Jr.")."""
    words = [word for word in split_words(person) if word not in _SUFFIXES]
    asked = split_words(name)
    return len(words) > len(asked) and words[-len(asked) :] == asked


def _full_names(article: StoredArticle, words: list[str]) -> set[str]:
    """The names of more words than `words` that contain them, as the article writes them
    (for "Anthony": "Carmelo Anthony"); for a full name asked, the name itself if the
    article gives it."""
    text = article.text
    names: set[str] = set()
    for start, end in _spans_of(text, words, short_form=False):
        span = _whole_name(text, start, end)
        if span and len(words) > 1:
            span = _as_asked(text, span, (start, end), words)
        whole = text[slice(*span)] if span else ""
        if len(whole.split()) > 1:
            names.add(whole)
    return names


def _is_pairing(written: str, words: list[str]) -> bool:
    """Whether the name stands in a hyphened pairing of names and nothing else ("the first
    Harris-Walz rally", "the Trump-Zelensky call"; not "Ocasio-Cortez" asked as such)."""
    return "-" in written and len(written.split()) == 1 and split_words(written) != words


def _is_acronym(written: str, name: str) -> bool:
    """Whether the asked name is written here as an acronym that it is not asked as ("SWIFT"
    for "who is Swift?"; a shouted headline)."""
    return written.isupper() and len(written) > 1 and not name.isupper()


def _names_holding(known: set[str], mention: str) -> list[str]:
    """The article's full names that hold all the words of a short mention ("Pérez", "Sir
    Anthony"): the one it stands for, when there is one (else it stays as written)."""
    words = set(split_words(mention))
    return sorted(name for name in known if words < set(split_words(name)))


def _spans_of(text: str, words: list[str], *, short_form: bool) -> list[tuple[int, int]]:
    """Where the name's words stand in `text`, in a row (or, for `short_form`, its last
    word alone), matched ignoring case and accents; offsets into `text`."""
    folded, origin = _folded_with_offsets(text)
    wanted = [words] + ([words[-1:]] if short_form else [])
    spans: list[tuple[int, int]] = []
    for phrase in wanted:
        pattern = r"\b" + r"\s+".join(re.escape(word) for word in phrase) + r"\b"
        for match in re.finditer(pattern, folded):
            spans.append((origin[match.start()], origin[match.end() - 1] + 1))
        if spans:
            break
    return spans


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """`fold(text)` and, for each of its characters, the offset in `text` it comes from."""
    folded = fold(text)
    if len(folded) == len(text):  # nearly always: folding kept one character for each
        return folded, list(range(len(text)))
    parts: list[str] = []
    origin: list[int] = []
    for at, char in enumerate(text):
        folded = fold(char)
        parts.append(folded)
        origin += [at] * len(folded)
    return "".join(parts), origin


def _whole_name(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of the person's name in the name phrase of `text` that holds
    `text[start:end]`, else that span; None when the phrase names a thing after the person
    ("the Trump Organization")."""
    window_start = max(text.rfind(" ", 0, max(start - 60, 0)) + 1, 0) if start > 60 else 0
    window_start = max(window_start, text.rfind("\n", 0, start) + 1)
    window_end = min(
        (at for at in (text.find("\n", end), text.find(". ", end)) if at >= 0), default=len(text)
    )
    window = text[window_start : min(window_end, end + 60)]
    for phrase in find_phrases(window):
        if phrase.kind is PhraseKind.NAME:
            phrase_start, phrase_end = window_start + phrase.start, window_start + phrase.end
            if phrase_start <= start and end <= phrase_end:
                return person_span(text, phrase_start, phrase_end, start, end)
    return start, end


def person_span(
    text: str, phrase_start: int, phrase_end: int, start: int, end: int
) -> tuple[int, int] | None:
    """The person's name within the name phrase `text[phrase_start:phrase_end]` that holds
    the asked-for `text[start:end]`: without the words before it that are no part of it
    ("Australian Prime Minister", "While", "Tesla CEO", "Israel's"), nor what follows a
    possessive ("Marc Anthony’s Viviendo Tour") or a joining word ("JD Vance of Ohio");
    None when it names a thing after the person ("Trump Organization")."""
    head = text[phrase_start:start]
    not_name = [
        word.end()
        for at, word in enumerate(re.finditer(r"\S+", head))
        if _opens_no_name(word.group(), first=at == 0)
    ]
    if not_name:  # the name starts after the last word that is no part of it
        phrase_start += len(head) - len(head[not_name[-1] :].lstrip())
    ends = [
        match.start()
        for match in (
            _POSSESSIVE.search(text, end, phrase_end),
            _NAME_GOES_ON.search(text, end, phrase_end),
        )
        if match
    ]
    name_end = min(ends, default=phrase_end)
    if any(fold(word) in _NAMED_AFTER for word in text[end:name_end].split()):
        return None
    return phrase_start, name_end


def _opens_no_name(word: str, *, first: bool) -> bool:
    """Whether a word of a name phrase, before the asked-for name, is no part of the name:
    a title ("President"), a lowercase word other than a particle ("View with Lara Trump";
    not "Ana de Armas"), a stopword opening the phrase ("While Anthony Richardson"), an
    acronym ("CEO"), a possessive ("Israel's"), an age ("Thirty-five-year-old") or a word
    ending a sentence ("Airport.")."""
    folded = fold(word).strip(".")
    if folded in TITLES or (word.islower() and folded not in _PARTICLES):
        return True
    if folded.endswith("-old"):
        return True
    letters = word.strip(".")
    if (letters.isupper() and len(letters) > 2 and letters.isalpha()) or _POSSESSIVE.search(word):
        return True
    if word.endswith(".") and len(letters) > 3 and "." not in letters:
        return True
    return first and folded in STOPWORDS


def defines_person(sentence: str, start: int, end: int) -> bool:
    """Whether the sentence says who the person is: "X, the ...", "X is ...", who they are
    to someone ("her young son, Anthony.") or a role right before the name ("migrant Lety
    Pérez", "Florida Gov. Ron DeSantis"; not "knocking Ron DeSantis", "Mr. Johnson")."""
    if _defined_around(sentence, start, end):
        return True
    word = _word_before(sentence, start)
    if word in ROLE_NOUNS:
        return True
    folded = fold(word).strip(".")
    return (
        word[:1].isupper()
        and folded not in _HONORIFICS
        and (folded in TITLES or folded in ROLE_NOUNS)
    )


def may_define_person(sentence: str, start: int, end: int) -> bool:
    """Whether the sentence may say who the person is: "X, the ...", "X is ...", who they
    are to someone, or any lowercase word before the name that is not a stopword ("migrant
    Lety Pérez", and "times Ron DeSantis" too): what training keeps out of its negatives."""
    word = _word_before(sentence, start)
    return _defined_around(sentence, start, end) or (
        word.islower() and "." not in word and word not in STOPWORDS
    )


def _defined_around(sentence: str, start: int, end: int) -> bool:
    """Whether what follows the name says who they are ("X, the ...", "X is ..."), or what
    comes before says who they are to someone, the name ending the clause."""
    return bool(
        _DEFINED_AFTER.match(sentence[end:])
        or (RELATION_BEFORE.search(sentence[:start]) and CLAUSE_END.match(sentence[end:]))
    )


def _word_before(sentence: str, start: int) -> str:
    """The word right before the name at `start`, or "" when none stands there."""
    before = _WORD_BEFORE.search(sentence[:start])
    return before["word"] if before else ""
