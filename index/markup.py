"""What a text or HTML file holds besides its article, read so that it is left out of it:
Markdown front matter and rule lines, HTML `<template>` elements, and the character set a page
declares for itself.

`index.ingest` reads the files; this module only recognises these parts of them.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

# Front matter opens a Markdown file: YAML between `---` lines (closed by `---` or `...`),
# TOML between `+++` lines. Its `key: value` (or `key = value`) lines are read; nested values
# are not.
_FRONT_MATTER_ENDS = {"---": ("---", "..."), "+++": ("+++",)}
_FRONT_MATTER_FIELD = re.compile(r"(?P<key>[A-Za-z_][\w-]*)\s*[:=]\s*(?P<value>.*)")
# The longest front matter looked for: past it, a `---` line is a rule, not its end.
_FRONT_MATTER_LINES = 200
# A thematic break or a setext heading's underline: three or more of one of - * _ = (spaces
# between them allowed), and nothing else.
_RULE = re.compile(r"\s*([-*_=])(?:\s*\1){2,}\s*")
# How a page names its character set: <meta charset=...> or <meta http-equiv=Content-Type
# content="text/html; charset=...">, in its first bytes (HTML says the first 1,024).
_CHARSET = re.compile(rb"<meta[^>]{0,200}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]{1,40})", re.I)
_CHARSET_BYTES = 4096


def front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    """The fields of the front matter `lines` open with (keys lower-cased, values without
    quotes) and the number of lines it takes; `({}, 0)` when there is none."""
    if not lines or lines[0].strip() not in _FRONT_MATTER_ENDS:
        return {}, 0
    ends = _FRONT_MATTER_ENDS[lines[0].strip()]
    for end in range(1, min(len(lines), _FRONT_MATTER_LINES)):
        if lines[end].strip() in ends:
            fields: dict[str, str] = {}
            for line in lines[1:end]:
                match = _FRONT_MATTER_FIELD.fullmatch(line.strip())
                if match:
                    value = match["value"].strip()
                    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                        value = value[1:-1]
                    fields.setdefault(match["key"].lower(), value)
            return fields, end + 1
    return {}, 0


def is_rule(line: str) -> bool:
    """True for a Markdown rule or heading underline (`---`, `***`, `===`, `_ _ _`)."""
    return _RULE.fullmatch(line) is not None


def without_templates(html: str) -> Any:
    """`html` for trafilatura: the text itself, or when it has `<template>` elements (inert
    markup a browser never shows) its parsed tree without them."""
    if "<template" not in html.lower():
        return html
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return html
    for template in list(tree.iter("template")):
        if template.getparent() is not None:
            template.drop_tree()
    return tree


def declared_charset(data: bytes) -> str | None:
    """The character set the page in `data` declares (as Python names it), or None when it
    declares none, one Python does not know, or UTF-16/32 (which a page cannot declare in
    ASCII bytes it would not be written in)."""
    match = _CHARSET.search(data[:_CHARSET_BYTES])
    if match is None:
        return None
    try:
        name = codecs.lookup(match[1].decode("ascii")).name
    except LookupError:
        return None
    return None if name.startswith(("utf-16", "utf-32")) else name
