"""Whether "who is X?" says who X is: for forty people the news names often, does the first
quote name their role ("Florida Gov. Ron DeSantis", "Hunter Biden, son of President Joe
Biden"), does any of the three, how many of all the quotes do? And how many answers list
several people for one person.

    .venv/bin/python -m bench.who_is --index DIR

DIR is an index of news_dev's articles (docs/quality.md builds it). The roles are written by
hand, several a person (what the news of 2015-2026 calls them); a quote counts when it holds
one as a word. Each answer is printed with its quotes, a role-naming quote marked "*".
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from index.config import Settings
from index.engine import Engine

# Each person with the words that say who they are.
ROLES = {
    "Kevin McCarthy": r"speaker|house (?:minority|majority|republican) leader|congressman|rep\.",
    "Joe Biden": r"president|vice president|democratic nominee|candidate",
    "Donald Trump": r"president|republican nominee|candidate|businessman",
    "Kamala Harris": r"vice president|senator|sen\.|democratic nominee|VP|candidate",
    "Elon Musk": r"tesla|spacex|twitter|x owner|billionaire|richest|ceo|chief executive|doge",
    "Boris Johnson": r"prime minister|PM|foreign secretary|mayor",
    "Taylor Swift": r"singer|pop ?star|superstar|musician|songwriter|artist",
    "LeBron James": r"lakers|nba|basketball|cavaliers|player|star|forward",
    "Gavin Newsom": r"governor|gov\.",
    "Nicola Sturgeon": r"first minister|snp|scottish national",
    "Liz Truss": r"prime minister|PM|foreign secretary",
    "Tim Walz": r"governor|gov\.|running mate|vice presidential",
    "JD Vance": r"senator|sen\.|vice president|running mate|author",
    "Barack Obama": r"president",
    "Hillary Clinton": r"secretary of state|democratic nominee|candidate|senator|first lady",
    "Nancy Pelosi": r"speaker",
    "Volodymyr Zelensky": r"president|comedian",
    "Vladimir Putin": r"president|kremlin leader|russian leader|russia's leader",
    "King Charles": r"king|monarch",
    "Robert F. Kennedy Jr.": r"health secretary|secretary|candidate|anti-vaccine|activist|HHS",
    "Patrick Mahomes": r"quarterback|QB",
    "Travis Kelce": r"tight end|chiefs player",
    "Lionel Messi": r"soccer|football|argentin\w*|inter miami|psg|barcelona|player|forward|star",
    "Pope Francis": r"pope|pontiff|catholic",
    "Benjamin Netanyahu": r"prime minister|israeli leader|PM|israel's leader",
    "Jimmy Carter": r"president",
    "Ron DeSantis": r"governor|gov\.",
    "Mike Johnson": r"speaker",
    "Hunter Biden": r"son|businessman",
    "Aaron Rodgers": r"quarterback|QB|most valuable player|MVP",
    "Rishi Sunak": r"prime minister|PM|chancellor|finance minister",
    "Xi Jinping": r"president|leader",
    "Emmanuel Macron": r"president",
    "Olaf Scholz": r"chancellor|candidate",
    "Keir Starmer": r"prime minister|PM|labour (?:party )?leader|leader of the [\w ]*labour",
    "Jerome Powell": r"fed chair\w*|federal reserve|chair\w*",
    "Mark Zuckerberg": r"meta|facebook|ceo|founder|chief executive",
    "Simone Biles": r"gymnast|olympian|champion",
    "Shohei Ohtani": r"dodgers|angels|pitcher|two-way|star|player",
    "Caitlin Clark": r"fever|iowa|guard|rookie|star|player",
}


def main() -> None:
    """Ask "who is X?" for each person and print how many answers say who they are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="an index of news_dev")
    args = parser.parse_args()
    engine = Engine(Settings(_env_file=None, index_dir=args.index))
    engine.warm_up()
    first = any_quote = several = quotes = saying = 0
    for name, roles in ROLES.items():
        answer = engine.ask(f"who is {name}?")
        role = re.compile(rf"\b(?:{roles})(?!\w)", re.IGNORECASE)
        says = [bool(role.search(part.text)) for part in answer.answer]
        first += says[:1] == [True]
        any_quote += any(says)
        several += len(answer.people) > 1
        quotes += len(says)
        saying += sum(says)
        print(f"{name}: {sum(says)} of {len(says)} quotes say who; people {answer.people}")
        for part, said in zip(answer.answer, says, strict=True):
            print(f"  {'*' if said else ' '} {part.text[:150]!r}")
    count = len(ROLES)
    print(
        f"first quote says who: {first} of {count}; any quote: {any_quote} of {count}; "
        f"quotes that say who: {saying} of {quotes}; several people listed: {several} of {count}"
    )


if __name__ == "__main__":
    main()
