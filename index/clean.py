"""Cleaning: remove boilerplate spans, normalise whitespace and Unicode (NFC).

Cleaning only ever deletes spans and normalises whitespace; it never rewrites the words that
remain. Each boilerplate rule is named, documented and tested. The cleaned text is what the
store keeps and what every offset refers to. Paragraphs are joined with one blank line.
"""

from __future__ import annotations

import bisect
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from index.records import Span

# Bump when a rule changes: the index notices and rebuilds everything.
CLEANER_VERSION = 8

PARAGRAPH_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Rule:
    """A boilerplate rule: `removals(paragraph)` gives the spans it deletes, in order and not
    overlapping; `name` says what it is."""

    name: str
    removals: Callable[[str], list[Span]]


def paragraph_rule(
    name: str, pattern: str | re.Pattern[str], flags: re.RegexFlag = re.NOFLAG
) -> Rule:
    """A rule named `name` that drops each paragraph `pattern` matches entirely (a compiled
    `pattern` keeps its own flags)."""
    compiled = re.compile(pattern, flags)
    return Rule(
        name, lambda paragraph: [(0, len(paragraph))] if compiled.fullmatch(paragraph) else []
    )


# A link hover-card pasted into a sentence: the linked short name is followed, with no space,
# by the person's full name ending in the same short name, then headlines run together, then
# "MORE". In "President TrumpDonald John TrumpSanders urges ... probe MORE had threatened" it
# removes "Donald John TrumpSanders urges ... probe MORE". As a regular expression:
#   \b(?P<short>[A-Z][\w'’.-]{1,40}?)
#   (?P<removed>[A-Z].{0,80}?(?P=short)(?=[A-Z\d'‘“"]).{0,1200}? MORE\b)
# which Python's backtracking engine runs in time far worse than linear on text such as
# "XaXa... XaXa..." (seconds for 20 KB); `_hover_cards` finds exactly its matches, looking up
# where each " MORE" is instead of scanning for it again from every candidate.
_CARD_START = re.compile(r"\b[A-Z]")
_SHORT_REST = re.compile(r"[\w'’.-]{1,40}")
_AFTER_REPEAT = re.compile(r"[A-Z\d'‘“\"]")
_MORE = re.compile(r" MORE\b")
_UPPER = frozenset(string.ascii_uppercase)
_SHORT_MAX, _NAME_MAX, _HEADLINES_MAX = 41, 81, 1200
# The farthest a card's " MORE" can be from where the card starts.
_CARD_REACH = 2 * _SHORT_MAX + _NAME_MAX + _HEADLINES_MAX


def _hover_cards(paragraph: str) -> list[Span]:
    """The spans the link-hover-card rule removes from a paragraph (which has no newline)."""
    mores = [match.start() for match in _MORE.finditer(paragraph)]
    spans: list[Span] = []
    position = 0
    while mores and (start := _CARD_START.search(paragraph, position)) is not None:
        span = _hover_card_at(paragraph, start.start(), mores)
        spans.extend([span] if span else [])
        position = span[1] if span else start.start() + 1
    return spans


def _hover_card_at(paragraph: str, start: int, mores: list[int]) -> Span | None:
    """The removed span of the card whose short name starts at `start`, if there is one, as
    the regular expression's lazy quantifiers would choose it."""
    nearest = bisect.bisect_left(mores, start)
    if nearest == len(mores) or mores[nearest] - start > _CARD_REACH:
        return None
    rest = _SHORT_REST.match(paragraph, start + 1)
    for removed in range(start + 2, rest.end() + 1 if rest else start):
        if removed >= len(paragraph) or paragraph[removed] not in _UPPER:
            continue
        short = paragraph[start:removed]
        limit = removed + _NAME_MAX + len(short)
        repeat = paragraph.find(short, removed + 1, limit)
        while repeat != -1:
            after = repeat + len(short)
            if _AFTER_REPEAT.match(paragraph, after):
                more = mores[bisect.bisect_left(mores, after)] if after <= mores[-1] else None
                if more is not None and more - after <= _HEADLINES_MAX:
                    return removed, more + len(" MORE")
            repeat = paragraph.find(short, repeat + 1, limit)
    return None


# An e-mail address or a social handle ("@handle", not "x@y" inside an address).
_ADDRESS = r"(?:[\w.+-]+@[\w-]+\.\w+|(?<![\w@])@\w{2,})"

# "Sign up" or "subscribe" as an invitation: capitalised, or lower case where a sentence or
# clause starts or after "you can", "to", "by" ... ("sign up for our tax newsletter"), not
# as what people do ("35 million people subscribe to Substack newsletters").
_SIGN_UP = (
    r"(?:\b(?:Sign(?:ing)? ?up|SIGN UP|Subscribe|SUBSCRIBE)"
    r"|(?:(?<![^.:!?–—,;(])\s*"
    r"|\b(?:[Yy]ou can|to|and|by|[Pp]lease|[Cc]onsider|[Cc]lick here to)\s+)"
    r"(?:sign(?:ing)? ?up|subscribe))"
)

# Where and by whom a story was filed, standing alone, as CNN's pages open their text and
# sometimes title it ("CNN —", "New York CNN Business —", "Seoul, South Korea CNN —"): up to
# six capitalised words and a dash.
_DATELINE = re.compile(r"(?:[A-Z][\w.'’&-]*,? ){0,5}[A-Z][\w.'’&-]*\s?[—–]")

# A photo's credit run into the text of a gallery's captions, where a sentence ends or a
# paragraph starts: the photographer's name, then the agencies after slashes, the last a
# picture agency ("Robyn Beck/AFP/Getty Images", "Ali Khara/Reuters", "Evan Vucci/AP").
# Names and agencies of at most eight words, and at most six of them: unbounded, a run of
# initials ("A. A. A. ...") was tried from each of its starts to its end (quadratic time).
_CREDIT_WORD = r"(?:[A-Z]\.|[A-Z][\w'’-]*)"
_CREDIT_WORDS = rf"{_CREDIT_WORD}(?: (?:{_CREDIT_WORD}|de|van|von|al|el)){{0,7}}"
_PICTURE_AGENCY = (
    r"(?:Getty Images|AP|AP Photo|Reuters|REUTERS|AFP|EPA|EPA-EFE|Shutterstock|Bloomberg"
    r"|Redux|Corbis|ZUMA Press|ZUMA Wire|Sipa USA|NurPhoto|Hulton Archive|WPA Pool|PA"
    r"|PA Images|Anadolu Agency|Anadolu|SOPA Images|LightRocket|Pool|USA TODAY Sports"
    r"|USA TODAY Network|USA TODAY|CNN|Imagn Images)"
)
_PHOTO_CREDIT = re.compile(
    rf"(?:^|(?<=[.!?”\"’)] )){_CREDIT_WORDS}(?:/{_CREDIT_WORDS}){{0,4}}/{_PICTURE_AGENCY}"
    rf"(?: via {_PICTURE_AGENCY})?(?=$| (?!for\b))"
)


def _photo_credits(paragraph: str) -> list[Span]:
    """The spans of the photo credits (`_PHOTO_CREDIT`) in `paragraph`."""
    return [match.span() for match in _PHOTO_CREDIT.finditer(paragraph)]


# A gallery's own words run into its captions (CNN): "Photos: <the gallery's title>" before
# each caption, and "Hide Caption 3 of 49" after it where captions share a paragraph. In
# "Hide Caption 2 of 49 Photos: British Prime Minister Boris Johnson Johnson, 21, speaks ..."
# the title ran into the caption as if it were one name ("Boris Johnson Johnson").
_HIDE_CAPTION = re.compile(r"Hide Caption \d{1,4} of \d{1,4}")
_GALLERY_HEADING = "Photos: "


def _hidden_captions(paragraph: str) -> list[Span]:
    """The spans of `paragraph`'s "Hide Caption n of m" markers."""
    return [match.span() for match in _HIDE_CAPTION.finditer(paragraph)]


def _captions(paragraph: str, hidden: Sequence[Span]) -> list[Span]:
    """Where a gallery's captions may stand in `paragraph`, whose "Hide Caption n of m"
    markers are `hidden`: from its start, and from right after each marker, to the next
    marker (the space before it left out) or the paragraph's end."""
    openings = [0, *(end + 1 for _, end in hidden)]
    ends = [start - 1 for start, _ in hidden] + [len(paragraph)]
    return list(zip(openings, ends, strict=True))


def _gallery_title(paragraphs: Sequence[str]) -> str | None:
    """The title a gallery gives before each of its captions ("Photos: <title> <caption>")
    across an article's `paragraphs`, when two or more captions give one: the words they all
    open with, each caption keeping at least one word of its own."""
    captions: list[list[str]] = []
    for paragraph in paragraphs:
        for start, end in _captions(paragraph, _hidden_captions(paragraph)):
            if paragraph.startswith(_GALLERY_HEADING, start):
                captions.append(paragraph[start + len(_GALLERY_HEADING) : end].split(" "))
    if len(captions) < 2:
        return None
    shared = 0
    while all(shared < len(words) - 1 for words in captions) and (
        len({words[shared] for words in captions}) == 1
    ):
        shared += 1
    return " ".join(captions[0][:shared]) or None


def _gallery_markers(title: str | None) -> Rule:
    """The rule that drops a gallery's "Hide Caption n of m" markers, and the heading
    "Photos: <title> " where a caption opens, `title` being the article's `_gallery_title`."""
    heading = f"{_GALLERY_HEADING}{title} "

    def removals(paragraph: str) -> list[Span]:
        hidden = _hidden_captions(paragraph)
        if title is None:
            return hidden
        headings = [
            (start, start + len(heading))
            for start, _ in _captions(paragraph, hidden)
            if paragraph.startswith(heading, start)
        ]
        return sorted(hidden + headings)

    return Rule("gallery-marker", removals)


# A video's card left in the page's text: its title and length, "Source:" and the outlet,
# after "Video Ad Feedback" ("Video Ad Feedback See Bill Nye's warning about 'doomsday'
# glacier 02:30 - Source: CNN"), or between "JUST WATCHED" and "Replay More Videos ...":
# another story's headline, not this article's words.
_VIDEO_CARD = (
    r"Video Ad Feedback .{1,400}"
    r"|JUST WATCHED .{1,300}? Replay More Videos \.\.\.(?: MUST WATCH .{1,300})?"
    r"|(?=.{0,400}$).{1,200}? \d{1,2}:\d{2} [-•] Source: .{1,200}"
)

# A day as a page's timestamp gives it: "Feb. 20, 2026", "July 14".
_DAY = r"[A-Z][a-z]{2,8}\.? \d{1,2}(?:, \d{4})?"

RULES: tuple[Rule, ...] = (
    # A paragraph that is only a dateline (`is_dateline`): not the story's words; first, it
    # put the lead second.
    paragraph_rule("dateline", _DATELINE),
    # A paragraph that is only an advertisement marker, as news sites leave between paragraphs:
    # "ADVERTISEMENT", "Advertisement", "Story continues below advertisement".
    paragraph_rule(
        "advertisement-marker",
        r"(?:story continues below )?advertisement",
        re.IGNORECASE,
    ),
    Rule(name="link-hover-card", removals=_hover_cards),
    # A photo's credit among a gallery's captions (`_PHOTO_CREDIT`): "... on June 23. Ahmad
    # Sahel Arman/AFP/Getty Images A man carries supplies ..." loses "Ahmad Sahel
    # Arman/AFP/Getty Images", which ran into the next caption's sentence and read as a name.
    Rule(name="photo-credit", removals=_photo_credits),
    # A link to another story between paragraphs: a short label run into that story's
    # headline, with no space after the colon ("More:Trump extends exemptions on steel,
    # aluminum tariffs", "SAVE MONEY:How to save money at the pump as gas prices hit
    # all-time high", "2023 Kentucky Derby winner:Mage, who had 16-1 odds, pulls ahead ...").
    # The headline is another article's words, not this one's: quoted, it would be cited to
    # an article that does not say it.
    paragraph_rule(
        "related-story-link",
        r"[A-Z\d][\w'’ -]{1,40}:[A-Z‘“\"'][^\n]{3,300}",
    ),
    # An invitation to a newsletter or a subscription ("Sign up for CNN’s Wonder Theory science
    # newsletter. ...", "Subscribe to The Week Escape your echo chamber. ...", "Subscribe to
    # azcentral.com today."): the outlet speaking, not the story.
    paragraph_rule(
        "newsletter-promotion",
        r"(?=.{0,600}$)(?:"
        rf".*{_SIGN_UP}\b.{{0,120}}"
        r"\b(?:[Nn]ewsletters?|inbox|[Ee]mail alerts|email briefing)\b.*"
        rf"|.*\b(?:[Nn]ewsletters?|inbox)\b.{{0,120}}{_SIGN_UP}\b.*"
        r"|.*(?:\b(?:Sign up|Subscribe)|\b[Yy]ou can (?:sign up|subscribe))\b"
        r"[^.!?]{0,100}\bhere\b.*"
        r"|(?:Support [^.]{0,40}\. )?Subscribe to .{1,60}?(?: today)?[.!]?"
        r")",
    ),
    # The questions of a video ad's feedback form, left in the page's text ("How relevant is
    # this ad to you?", "Video player was slow to load content Video content never loaded ...").
    paragraph_rule(
        "ad-feedback",
        r"(?:\d\. )?How relevant is this ad to you\?"
        r"|Video player was slow to load content .{0,300}",
    ),
    paragraph_rule("video-card", _VIDEO_CARD),
    # A pointer to the outlet's games: "Need a break? Play the USA TODAY Daily Crossword
    # Puzzle.", "Looking for a free mini puzzle? ...".
    paragraph_rule(
        "games-promotion",
        r"(?:Need a (?:news )?break|Looking for a free mini puzzle)\?.{0,200}",
    ),
    # How to reach the reporter: a short paragraph whose contact phrase leads, in the same
    # sentence, to an e-mail address or a social handle ("Reach him at x@example.com",
    # "Follow her on X @handle", "Contact Jamie L. LaReau at ...", "may be reached at ...").
    # Not a quotation, and not an address given to readers for another purpose ("can report
    # it by forwarding the message to phishing@irs.gov").
    paragraph_rule(
        "reporter-contact",
        r"(?=.{0,300}$)(?![“\"‘'])(?:"
        r"(?:Follow|Reach|Contact|Call|E-?mail|Send)\b[^.!?]{0,120}?"
        + _ADDRESS
        + r"|.*\b(?:[Ff]ollow|[Rr]each|[Cc]ontact|[Ee]-?mail|[Cc]all)(?: out to)?"
        r" (?:him|her|them|me|us)\b[^.!?]{0,100}?"
        + _ADDRESS
        + r"|.*\b(?:can|may) be reached\b[^.!?]{0,100}?"
        + _ADDRESS
        + r"|.*\b(?:[Ff]ollow|[Rr]each|[Cc]ontact)(?: out to)? (?:[A-Z][\w'’.-]*\.? ){1,4}"
        r"(?:on|at)\b[^.!?]{0,100}?" + _ADDRESS + r").*",
    ),
    # A note that the story changed ("This story has been updated with additional
    # developments.", "(This story was updated to add new information.)").
    paragraph_rule(
        "update-note",
        r"\(?This (?:story|article) (?:has been|was) updated\b.{0,150}",
    ),
    # When the page was updated or published, standing alone where the story starts
    # ("Updated Feb. 20, 2026, 4:01 p.m. ET", "Updated 9 p.m. Sunday, July 14"): quoted, it
    # ran into the story's first sentence as if it were its heading.
    paragraph_rule(
        "update-timestamp",
        r"(?:Updated|Published|Posted|Last updated)(?: on)? "
        rf"(?:{_DAY}, )?(?:at )?\d{{1,2}}(?::\d{{2}})? ?[ap]\.m\.(?: [A-Z]{{2,4}})?"
        rf"(?: on)?(?: [A-Z][a-z]+,)?(?: {_DAY})?"
        # or a timestamp alone: "June 15, 2026, 7:19 a.m. ET", "Feb. 12, 2025 Updated Feb.
        # 15, 2025, 2:27 p.m. ET".
        rf"|{_DAY}(?: Updated {_DAY})?,? \d{{1,2}}:\d{{2}} [ap]\.m\.(?: [A-Z]{{2,4}})?",
    ),
    # How the outlet is paid, or what it owes: affiliate links, sponsors, grants and
    # partners ("If you make a purchase by clicking one of the links, we may earn an
    # affiliate fee.", "Our fact-check work is supported in part by a grant from Facebook.",
    # "24/7 Wall Street is a USA TODAY content partner offering financial news ..."); not a
    # study "funded in part by a grant from" someone.
    paragraph_rule(
        "sponsor-note",
        r"(?=.{0,400}$).*(?:\bmay earn (?:us a commission|an affiliate fee|revenue from)"
        r"|\bPurchases you make through our links"
        r"|\bis a (?:[\w ]{0,40} )?content partner offering"
        r"|\b(?:coverage|work|reporting|journalism)\b[^.]{0,80}\b(?:is|are)"
        r" (?:made possible|supported|funded) in part by (?:a )?grants? from"
        r"|^Prices were accurate at the time)\b.*",
    ),
    # A newsletter's sign-up form, its data-protection notes included (The Week): "We will
    # use the details you have shared to manage your registration. ...", "If you wish to
    # object to the use of your data in this way, please tick here.".
    paragraph_rule(
        "sign-up-form",
        r"We will use the (?:details|information) you have shared\b.{0,400}"
        r"|['‘’]We['’] includes .{1,100} brands as detailed here\."
        r"|If you wish to object to the use of your data\b.{0,100}"
        r"|Would you like to receive .{1,60} newsletter ?\?"
        r"|The \w+ newsletter provides you with .{1,100}",
    ),
    # The outlet's links to its own pages, between paragraphs: "Prep for the polls: See who is
    # running for president ... in our Voter Guide", "NFL STATS CENTRAL: The latest NFL
    # scores, schedules, odds, stats and more.", "Learn more: Best travel insurance".
    paragraph_rule(
        "outlet-promotion",
        r"Prep for the polls: .{1,200}"
        r"|Sign-up for Your Vote: .{1,100}"
        r"|Holiday deals: Shop .{1,150}"
        r"|(?:Learn more|Protect your assets): Best .{1,80}"
        r"|[A-Z][\w' ]{0,30} CENTRAL: .{1,150}"
        r"|(?:Follow every game|All things [\w ]{1,30}): Latest .{1,150}"
        r"|Podcasts: .{1,150}"
        r"|Remembering those we lost: .{1,80}"
        r"|Never miss a story: .{1,150}"
        r"|The USA TODAY app gets you .{1,200}"
        r"|Unable to view our graphics\? .{1,80}"
        r"|Follow CNN(?: \w+)? Join us on .{1,80}"
        r"|Visit CNN\.com/\w+ for more .{1,80}"
        r"|What['’]s the weather today\? Check your local forecast here\."
        r"|The product experts at Reviewed .{1,250}",
    ),
    # Credits of other reporters ("Contributing: Mike Snider, USA TODAY").
    paragraph_rule(
        "contributor-credit",
        r"Contributing: .{1,300}|From USA TODAY Network and wire reports",
    ),
)

# Characters that carry no text: control characters that are not whitespace (those Python
# counts as whitespace, such as \x0b, \x0c, \x1c-\x1f and \x85, separate words and become
# spaces), invisible ones (zero-width space, byte order mark, soft hyphen, word joiner; the
# zero-width joiner stays: emoji need it) and lone surrogates (no UTF-8 can hold them).
_NO_TEXT = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b\ufeff\u00ad\u2060\ud800-\udfff]")
# Bidirectional embeddings, overrides and isolates: in a one-line field (a title, an outlet)
# they reorder what follows, even text shown after it ("\u202egnp.exe").
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u00a0]*\n\s*")
_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CleanedText:
    """A cleaned body: its text, each paragraph's span in it, and what each rule removed."""

    text: str
    paragraphs: tuple[Span, ...]
    removed: Counter[str]


def is_dateline(line: str) -> bool:
    """Whether `line` (stripped) is only a dateline ("CNN —"): a title that is one says
    nothing of its story."""
    return _DATELINE.fullmatch(line) is not None


def remove_control_characters(text: str, replacement: str = "") -> str:
    """`text` with each character that carries no text (controls that are not whitespace,
    invisible characters, lone surrogates) replaced by `replacement`."""
    return _NO_TEXT.sub(replacement, text)


def normalise_line(text: str, *, control_replacement: str = "") -> str:
    """NFC, no characters that carry no text nor bidirectional controls, whitespace runs
    collapsed to one space."""
    text = remove_control_characters(unicodedata.normalize("NFC", text), control_replacement)
    text = _BIDI_CONTROLS.sub(control_replacement, text)
    return _WHITESPACE_RUN.sub(" ", text).strip()


def clean_body(raw: str) -> CleanedText:
    """Clean an article body and split it into paragraphs (separated by blank lines)."""
    text = remove_control_characters(unicodedata.normalize("NFC", _LINE_BREAKS.sub("\n", raw)))
    removed: Counter[str] = Counter()
    paragraphs = [_WHITESPACE_RUN.sub(" ", block).strip() for block in _PARAGRAPH_BREAK.split(text)]
    # A gallery's title is known from all its captions, which may each be a paragraph.
    rules = (_gallery_markers(_gallery_title(paragraphs)), *RULES)
    kept: list[str] = []
    for paragraph in paragraphs:
        paragraph = _apply_rules(paragraph, rules, removed)
        if paragraph:
            kept.append(paragraph)
    spans: list[Span] = []
    offset = 0
    for paragraph in kept:
        spans.append((offset, offset + len(paragraph)))
        offset += len(paragraph) + len(PARAGRAPH_SEPARATOR)
    return CleanedText(PARAGRAPH_SEPARATOR.join(kept), tuple(spans), removed)


def _apply_rules(paragraph: str, rules: Sequence[Rule], removed: Counter[str]) -> str:
    for rule in rules:
        if not paragraph:
            break
        spans = rule.removals(paragraph)
        if spans:
            removed[rule.name] += len(spans)
            kept, end = [], 0
            for span_start, span_end in spans:
                kept.append(paragraph[end:span_start])
                end = span_end
            kept.append(paragraph[end:])
            paragraph = _WHITESPACE_RUN.sub(" ", "".join(kept)).strip()
    return paragraph
