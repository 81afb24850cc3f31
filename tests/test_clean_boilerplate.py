"""The outlet speaking rather than the story (a dateline standing alone, newsletter and
subscription invitations and forms, a video ad's feedback form, a video's card, games, the
outlet's links to its own pages, sponsors and affiliate notes, how to reach the reporter,
update notes and timestamps, contributor credits) is dropped a whole paragraph at a time, and a
photo's credit or a gallery's markers among its captions on their own; news that merely
mentions such things stays."""

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
        ("June 15, 2026, 7:19 a.m. ET", "update-timestamp"),
        ("Feb. 12, 2025 Updated Feb. 15, 2025, 2:27 p.m. ET", "update-timestamp"),
        (
            "Video Ad Feedback See Bill Nye's warning about 'doomsday' glacier 02:30 - Source: CNN",
            "video-card",
        ),
        (
            "Video Ad Feedback 02:31 - Source: CNN Deadly flash floods wipe out a bridge",
            "video-card",
        ),
        (
            "What is a derecho? 01:01 • Source: CNN What is a derecho? 01:01",
            "video-card",
        ),
        (
            "JUST WATCHED Tulsa gunman bought assault-style weapon the day of shooting Replay More"
            " Videos ... MUST WATCH Tulsa gunman bought assault-style weapon the day of shooting"
            " 02:45",
            "video-card",
        ),
        (
            "We occasionally recommend interesting products and services. If you make a purchase"
            " by clicking one of the links, we may earn an affiliate fee.",
            "sponsor-note",
        ),
        ("Our fact-check work is supported in part by a grant from Facebook.", "sponsor-note"),
        (
            "24/7 Wall St. is a USA TODAY content partner offering financial news and"
            " commentary. Its content is produced independently of USA TODAY.",
            "sponsor-note",
        ),
        (
            "We will use the details you have shared to manage your registration. You agree to"
            " the processing of this information as described in our Privacy Policy.",
            "sign-up-form",
        ),
        (
            "If you wish to object to the use of your data in this way, please tick here.",
            "sign-up-form",
        ),
        (
            "Prep for the polls: See who is running for president and compare where they stand"
            " on key issues in our Voter Guide",
            "outlet-promotion",
        ),
        (
            "NFL STATS CENTRAL: The latest NFL scores, schedules, odds, stats and more.",
            "outlet-promotion",
        ),
        ("Learn more: Best travel insurance", "outlet-promotion"),
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
        "June 15, 2026, was the hottest day on record.",
        "The study was funded in part by a grant from the National Institutes of Health.",
        "Brokers may earn a commission on each sale, the regulator said.",
        "The clip, 02:30 long, was shared by a source close to the team.",
        "Learn more: the museum opens at 10 a.m. on Saturdays.",
        "Photos: the flood in pictures",
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


def test_a_gallerys_markers_and_its_title_before_each_caption_are_dropped() -> None:
    gallery = (
        "Photos: The life of Queen Elizabeth II Princess Elizabeth in 1930. Hide Caption 1 of 3"
        " Photos: The life of Queen Elizabeth II Elizabeth is crowned in 1953. Hide Caption 2 of"
        " 3 Photos: The life of Queen Elizabeth II The Queen in 2022. Hide Caption 3 of 3"
    )
    result = clean_body(f"{BEFORE}\n\n{gallery}")
    assert result.text == (
        f"{BEFORE}\n\nPrincess Elizabeth in 1930. Elizabeth is crowned in 1953. The Queen in 2022."
    )
    assert result.removed == {"gallery-marker": 6}


def test_a_gallerys_title_before_captions_of_their_own_paragraphs_is_dropped() -> None:
    gallery = (
        "Photos: Russia invades Ukraine Cars burn in central Kyiv on October 10.\n\n"
        "Photos: Russia invades Ukraine A fireman helps an injured civilian.\n\n"
        "Photos: Russia invades Ukraine Russia invaded on February 24."
    )
    result = clean_body(f"{BEFORE}\n\n{gallery}")
    assert result.text == (
        f"{BEFORE}\n\nCars burn in central Kyiv on October 10.\n\n"
        "A fireman helps an injured civilian.\n\nRussia invaded on February 24."
    )
    assert result.removed == {"gallery-marker": 3}


def test_a_single_caption_keeps_its_heading() -> None:
    result = clean_body("Photos: Storm damage A tree fell on Monday. Hide Caption 1 of 1")
    assert result.text == "Photos: Storm damage A tree fell on Monday."
    assert result.removed == {"gallery-marker": 1}


@pytest.mark.parametrize(
    "hostile",
    [
        "A. " * 20_000,
        "Hide Caption 1 of 2 Photos: " * 20_000,
        ("Photos: " + "a " * 500 + "Hide Caption 1 of 2 ") * 200,
        ("A. " * 7 + "B/") * 5_000,
        ("Aa " * 8 + "/") * 5_000 + "AP",
    ],
)
def test_runs_of_initials_slashes_or_gallery_marks_clean_in_linear_time(hostile: str) -> None:
    # Unbounded, the photo-credit pattern took 40 s for the first (quadratic in the run).
    started = time.perf_counter()
    clean_body(hostile)
    assert time.perf_counter() - started < 0.5
