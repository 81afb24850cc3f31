"""The outlet speaking rather than the story (a dateline standing alone, newsletter and
subscription invitations, a video ad's feedback form, games, how to reach the reporter, update
notes and timestamps, contributor credits) is dropped a whole paragraph at a time, and a
photo's credit among a gallery's captions on its own; news that merely mentions such things
stays."""

from __future__ import annotations

import time

import pytest

from index.clean import clean_body

BEFORE = "The storm hit on Monday."
AFTER = "Power was out for days."


@pytest.mark.parametrize(
    ("paragraph", "rule"),
    [
        ("CNN —", "dateline"),
        ("New York CNN Business —", "dateline"),
        ("Seoul, South Korea CNN —", "dateline"),
        (
            "Sign up for CNN’s Wonder Theory science newsletter. Explore the universe with news"
            " on fascinating discoveries, scientific advancements and more.",
            "newsletter-promotion",
        ),
        (
            "Get CNN Health's weekly newsletter Sign up here to get The Results Are In with"
            " Dr. Sanjay Gupta every Tuesday from the CNN Health team.",
            "newsletter-promotion",
        ),
        (
            "Subscribe to The Week Escape your echo chamber. Get the facts behind the news, plus"
            " analysis from multiple perspectives. SUBSCRIBE & SAVE Sign up for The Week's Free"
            " Newsletters From our morning news briefing to a weekly Good News Newsletter, get"
            " the best of The Week delivered directly to your inbox. From our morning news"
            " briefing to a weekly Good News Newsletter, get the best of The Week delivered"
            " directly to your inbox. Sign up",
            "newsletter-promotion",
        ),
        (
            "Thank you for supporting our journalism. You can subscribe to our print edition,"
            " ad-free app or electronic newspaper replica here.",
            "newsletter-promotion",
        ),
        ("Support local journalism. Subscribe to azcentral.com today.", "newsletter-promotion"),
        ("1. How relevant is this ad to you?", "ad-feedback"),
        (
            "Video player was slow to load content Video content never loaded Ad froze or did"
            " not finish loading Audio on ad was too loud Other issues",
            "ad-feedback",
        ),
        ("Need a break? Play the USA TODAY Daily Crossword Puzzle.", "games-promotion"),
        (
            "Need a news break? Check out the all new PLAY hub with puzzles, games and more!",
            "games-promotion",
        ),
        (
            "Donnelle Eller covers agriculture, the environment and energy for the Register."
            " Reach her at deller@registermedia.com or 515-284-8457.",
            "reporter-contact",
        ),
        ("Follow Mike Snider on X and Threads: @mikesnider & mikegsnider.", "reporter-contact"),
        (
            "Jervis is a national correspondent for USA TODAY based in Austin, Texas. Follow"
            " him on X: @MrRJervis.",
            "reporter-contact",
        ),
        (
            "Arts writer Kerry Clawson may be reached at 330-996-3527 or"
            " kclawson@thebeaconjournal.com.",
            "reporter-contact",
        ),
        ("This story has been updated with additional developments.", "update-note"),
        ("(This story was updated to add new information.)", "update-note"),
        ("Contributing: Mike Snider, USA TODAY", "contributor-credit"),
        ("From USA TODAY Network and wire reports", "contributor-credit"),
        ("Updated Feb. 20, 2026, 4:01 p.m. ET", "update-timestamp"),
        ("Updated 9 p.m. Sunday, July 14", "update-timestamp"),
        ("Published 11:13 a.m. ET Feb. 5, 2026", "update-timestamp"),
        ("Updated at 5:11 p.m. on Tuesday, July 13", "update-timestamp"),
    ],
)
def test_the_outlets_own_paragraph_is_dropped(paragraph: str, rule: str) -> None:
    cleaned = clean_body(f"{BEFORE}\n\n{paragraph}\n\n{AFTER}")
    assert cleaned.text == f"{BEFORE}\n\n{AFTER}"
    assert cleaned.removed == {rule: 1}


@pytest.mark.parametrize(
    "paragraph",
    [
        "About 35 million people subscribe to Substack newsletters, the company said.",
        "Residents who want to sign up for alerts can do so here.",
        "Sign up for a Costco membership",
        "Anyone who receives an unsolicited email that appears to be from the IRS can report it"
        " by forwarding the message to phishing@irs.gov.",
        "“I encourage everyone to follow instructions and updates from @kcpolice. Please stay"
        " safe,” Kelly said on X, formerly Twitter.",
        "If you want to help, email HelpNow@PutnamCountyTN.gov.",
        "The company said the story of its founding has been updated for the film.",
        "Contributing factors included the heat and the wind.",
        "Updated guidance was published at 4 p.m. on Friday.",
        "Posted at 9 p.m., the video drew a million views.",
        "Need a break from the heat? Cooling centers open at noon.",
        "Washington — The Senate voted on Tuesday to keep the government open.",
        "CNN — the network said — would not comment.",
        "Reach " + "x" * 400 + " at a@b.com",
    ],
)
def test_news_about_such_things_stays(paragraph: str) -> None:
    cleaned = clean_body(paragraph)
    assert cleaned.text == paragraph
    assert not cleaned.removed


@pytest.mark.parametrize(
    ("paragraph", "cleaned"),
    [
        (
            "Men search the rubble on June 23. Ahmad Sahel Arman/AFP/Getty Images A man carries"
            " supplies in an area affected by the earthquake.",
            "Men search the rubble on June 23. A man carries supplies in an area affected by the"
            " earthquake.",
        ),
        ("Fans cheer on Saturday. John Rudoff/Reuters", "Fans cheer on Saturday."),
        ("Kevin Frayer/Getty Images", ""),
        (
            "He was escorted out. Robyn Beck/AFP via Getty Images Police watch.",
            "He was escorted out. Police watch.",
        ),
        ("Crowds gather. Alexi J. Rosenfeld/Newsday/AP", "Crowds gather."),
    ],
)
def test_a_photo_credit_among_captions_is_dropped(paragraph: str, cleaned: str) -> None:
    result = clean_body(f"{BEFORE}\n\n{paragraph}")
    assert result.text == f"{BEFORE}\n\n{cleaned}".rstrip()
    assert result.removed == {"photo-credit": 1}


@pytest.mark.parametrize(
    "paragraph",
    [
        "The deal, first reported by AP/Reuters, was signed.",
        "Shares of AT&T/Time Warner fell. Service runs 24/7 now.",
        "On Friday. Evan Vucci said the AP/Reuters pool was full.",
        "Kevin Dietsch/Getty Images for Netflix",
    ],
)
def test_a_slash_in_the_story_is_no_credit(paragraph: str) -> None:
    assert clean_body(paragraph).text == paragraph


@pytest.mark.parametrize(
    "hostile",
    ["A. " * 20_000, ("A. " * 7 + "B/") * 5_000, ("Aa " * 8 + "/") * 5_000 + "AP"],
)
def test_a_run_of_initials_or_slashes_is_cleaned_in_linear_time(hostile: str) -> None:
    # Unbounded, the photo-credit pattern took 40 s for the first (quadratic in the run).
    started = time.perf_counter()
    clean_body(hostile)
    assert time.perf_counter() - started < 0.5
