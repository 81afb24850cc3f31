"""Words: how citebot folds text, splits it into words, drops stop words and stems.

One word pattern for every module: full-text search (as FTS5 splits text), the answer
scorer, phrases, profiles and the Milvus reader compare the same words.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping

import Stemmer

# A word as FTS5's tokeniser splits text: letters and digits (an underscore separates words).
WORD = re.compile(r"[^\W_]+")
# Combining marks (accents and the like) of the Latin, Greek and Cyrillic scripts and the
# general combining blocks: what NFKD splits off "é" or "ñ".
_COMBINING_MARK = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself near no nor not now of off on once
    only or other our ours out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom whose why will with would you your
    yours yourself know
"""
# Verbs that frame a question ("what did she say?") rather than name what it is about.
_QUESTION_FRAME_TEXT = """
    say says said saying tell tells told write writes wrote written writing mention mentioned
    describe described explain explained report reported happen happened think thought mean
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split()) | frozenset(_QUESTION_FRAME_TEXT.split())

# Words a name may start with that are not the name ("President Joe Biden").
TITLES = frozenset(
    {"president", "prime", "minister", "dr", "mr", "mrs", "ms", "sir", "gov", "governor"}
    | {"sen", "senator", "rep", "secretary", "gen", "judge", "justice", "coach", "captain"}
    | {"king", "queen", "prince", "princess", "pope", "mayor", "chancellor", "speaker"}
    | {"rev", "attorney", "general", "chief", "commissioner", "ambassador", "sheriff", "lt"}
    | {"sgt", "col", "cardinal", "bishop", "archbishop", "sheikh", "detective", "professor"}
    | {"vp", "chair", "chairman", "chairwoman"}
)

# The nouns news puts before a name to say who someone is: a closed list, since a word
# that only looks like one is often a verb or an unrelated noun ("await Biden's arrival",
# "patients include Begin", "the last interview Harris did").
ROLE_NOUNS = frozenset(
    {"president", "minister", "leader", "chief", "head", "boss", "chair", "chairman"}
    | {"chairwoman", "director", "executive", "founder", "co-founder", "cofounder", "owner"}
    | {"spokesperson", "spokesman", "spokeswoman", "secretary", "deputy", "aide", "adviser"}
    | {"advisor", "strategist", "official", "officer", "commissioner", "ambassador", "envoy"}
    | {"diplomat", "senator", "congressman", "congresswoman", "lawmaker", "politician"}
    | {"governor", "mayor", "councillor", "councilman", "councilwoman", "candidate"}
    | {"nominee", "challenger", "incumbent", "activist", "campaigner", "organiser"}
    | {"organizer", "lawyer", "attorney", "prosecutor", "judge", "defendant", "suspect"}
    | {"victim", "survivor", "witness", "migrant", "refugee", "immigrant", "resident"}
    | {"correspondent", "reporter", "journalist", "editor", "columnist", "writer", "author"}
    | {"novelist", "poet", "historian", "broadcaster", "presenter", "host", "anchor"}
    | {"commentator", "analyst", "economist", "scientist", "researcher", "professor"}
    | {"scholar", "expert", "doctor", "surgeon", "nurse", "physician", "epidemiologist"}
    | {"virologist", "teacher", "student", "pastor", "priest", "bishop", "cardinal", "rabbi"}
    | {"imam", "actor", "actress", "singer", "rapper", "musician", "guitarist", "drummer"}
    | {"songwriter", "star", "comedian", "filmmaker", "producer", "artist", "designer"}
    | {"photographer", "chef", "model", "dancer", "player", "striker", "midfielder"}
    | {"defender", "goalkeeper", "forward", "quarterback", "pitcher", "batter", "bowler"}
    | {"batsman", "sprinter", "runner", "swimmer", "cyclist", "skier", "boxer", "golfer"}
    | {"athlete", "champion", "captain", "coach", "manager", "teammate", "rookie", "veteran"}
    | {"soldier", "commander", "general", "colonel", "sergeant", "pilot", "astronaut"}
    | {"billionaire", "businessman", "businesswoman", "entrepreneur", "investor", "banker"}
    | {"mogul", "tycoon", "heir", "heiress", "husband", "wife", "son", "daughter", "mother"}
    | {"father", "brother", "sister", "widow", "widower", "grandmother", "grandfather"}
    | {"partner", "girlfriend", "boyfriend", "fiancée", "fiancé", "friend", "neighbour"}
    | {"neighbor", "colleague", "rival", "opponent", "whistleblower", "influencer"}
    | {"youtuber", "streamer", "inventor", "engineer", "architect", "farmer", "worker"}
    | {"employee", "contractor", "consultant", "pollster", "MP", "MEP", "CEO", "CFO", "COO"}
)


def word_set(text: str) -> frozenset[str]:
    """The words of `text` (split on spaces), as a set: for the rules' word lists."""
    return frozenset(text.split())


def fold(text: str) -> str:
    """Lower case without accents: how FTS5 compares words, and how citebot does too."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return decomposed if decomposed.isascii() else _COMBINING_MARK.sub("", decomposed)


def split_words(text: str) -> list[str]:
    """The folded words of `text`, in order."""
    return WORD.findall(fold(text))


def is_word(text: str) -> bool:
    """Whether `text` is one word as `split_words` gives them."""
    return WORD.fullmatch(text) is not None


def folded_words(text: str) -> frozenset[str]:
    """The distinct folded words of `text`."""
    return frozenset(split_words(text))


def content_words(text: str) -> list[str]:
    """The folded words of `text` that carry meaning (no stopwords), in order, once each."""
    return list(dict.fromkeys(w for w in split_words(text) if w not in STOPWORDS))


def query_words(text: str) -> list[str]:
    """What a search looks for in `text`: its content words, or every word (folded, once
    each) when it has none ("who is it?")."""
    return content_words(text) or list(dict.fromkeys(split_words(text)))


# A PyStemmer object is not safe to share between threads: one per thread.
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer: Stemmer.Stemmer | None = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


def content_stems(text: str) -> set[str]:
    """The stems (Snowball English) of the content words of `text`, so that "sacks" meets
    "sack" and "intercepted" meets "interceptions"."""
    return set(_stemmer().stemWords(content_words(text)))


def stem_weights(word_weights: Mapping[str, float]) -> dict[str, float]:
    """`word_weights` by stem; words of one stem weigh as the heaviest of them."""
    stemmer = _stemmer()
    weights: dict[str, float] = {}
    for word, weight in word_weights.items():
        stem = stemmer.stemWord(word)
        weights[stem] = max(weight, weights.get(stem, 0.0))
    return weights
