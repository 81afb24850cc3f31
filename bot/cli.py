"""The `citebot` command line: build and inspect the index, ask it questions, run the bot.

An adapter over the library in `index`, like the Discord bot in this package. JSON goes to
stdout, messages and progress to stderr. Every error is one line and an exit code: 2 for bad
usage or input, 1 for anything else.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from bot.text import SEVERAL_PEOPLE, one_line, stats_rows
from index.config import RETRIEVERS, Retriever, Settings, get_settings
from index.errors import CitebotError
from index.records import ArticleFilter, JsonRecord

P = ParamSpec("P")
R = TypeVar("R")

# The articles shipped with the project, found from here, not from the working directory.
SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
_PROBLEMS_SHOWN = 20
SEARCH_PREVIEW_CHARS = 240

log = logging.getLogger("citebot")


class BadInput(click.ClickException):
    """Bad usage or input: exit code 2, like click's own usage errors."""

    exit_code = 2


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn citebot's errors into one line on stderr and the right exit code."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CitebotError as error:
            exception = BadInput if error.exit_code == 2 else click.ClickException
            raise exception(str(error)) from error

    return wrapper


def settings_for(index: Path | None) -> Settings:
    """The settings, with `--index` taking precedence over CITEBOT_INDEX_DIR."""
    settings = get_settings()
    return settings.model_copy(update={"index_dir": index}) if index else settings


def print_json(data: Any) -> None:
    """One JSON object on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def listed_as_json_or_none(records: Sequence[JsonRecord], as_json: bool, none: str) -> bool:
    """Print `records` as one JSON list when `as_json`, or the message `none` when there are
    none; True when that is all there is to print."""
    if as_json:
        print_json([record.as_json() for record in records])
    elif not records:
        click.echo(none)
    return as_json or not records


index_option = click.option(
    "--index",
    "index",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Index directory (default: CITEBOT_INDEX_DIR, else ./citebot-index).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group()
@click.version_option(package_name="citebot")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, to stderr.")
def cli(verbose: bool) -> None:
    """citebot answers questions about news articles by quoting them, with citations."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--full", is_flag=True, help="Re-embed everything, not only what changed.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@click.option("--strict", is_flag=True, help="Stop at the first bad file or record.")
@json_option
@reports_errors
def build(
    paths: tuple[Path, ...],
    index: Path | None,
    full: bool,
    dry_run: bool,
    strict: bool,
    as_json: bool,
) -> None:
    """Index articles (.txt, .md, .jsonl, .html) from files or directories.

    PATHS default to the shipped seeds/. Only new and changed articles are embedded.

    \b
    Example:
        citebot build seeds/ ../shared/data/bbc_news.jsonl --index citebot-index
    """
    from index.build import build_index

    with _progress_reporter() as progress:
        summary = build_index(
            list(paths) or [SEEDS_DIR],
            settings_for(index),
            full=full,
            dry_run=dry_run,
            strict=strict,
            progress=progress,
        )
    if as_json:
        print_json(summary.as_json())
        return
    for problem in summary.problems[:_PROBLEMS_SHOWN]:
        click.echo(f"warning: {problem}", err=True)
    if len(summary.problems) > _PROBLEMS_SHOWN:
        click.echo(f"warning: ... and {len(summary.problems) - _PROBLEMS_SHOWN} more", err=True)
    if summary.skipped_files:
        skipped = summary.skipped_files
        more = len(skipped) - _PROBLEMS_SHOWN
        click.echo(
            f"Skipped {len(skipped):,} file(s) of unsupported type: "
            + ", ".join(skipped[:_PROBLEMS_SHOWN])
            + (f" and {more:,} more" if more > 0 else ""),
            err=True,
        )
    if summary.full_rebuild_reason:
        click.echo(f"Rebuilding everything: {summary.full_rebuild_reason}.", err=True)
    verb = "Would index" if dry_run else "Indexed"
    click.echo(
        f"{verb} {summary.index_dir}: {summary.added} added, {summary.changed} changed,"
        f" {summary.removed} removed, {summary.unchanged} unchanged, {summary.skipped} skipped."
    )
    embedded = summary.embedded and not dry_run
    rate = f" ({summary.passages_per_second:,.1f} passages/s)" if embedded else ""
    state = " Already up to date." if summary.up_to_date else ""
    click.echo(
        f"{summary.articles:,} articles, {summary.passages:,} passages,"
        f" {summary.embedded:,} {'to embed' if dry_run else 'embedded'}"
        f" in {summary.seconds:.1f} s{rate}.{state}"
    )


@cli.command()
@index_option
@json_option
@reports_errors
def stats(index: Path | None, as_json: bool) -> None:
    """Show what the index holds: articles, passages, outlets, dates, model, size.

    \b
    Example:
        citebot stats --json
    """
    from index.seam import open_reader

    settings = settings_for(index)
    result = open_reader(settings).stats(settings.index_dir)
    if as_json:
        print_json(result.as_json())
        return
    rows = [("Index", f"{result.index_dir} (generation {result.generation})"), *stats_rows(result)]
    for label, value in rows:
        click.echo(f"{label:<13} {value}")


class _progress_reporter:  # noqa: N801 - used like a function
    """A tqdm bar on a terminal, plain lines on stderr otherwise."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._last_line = 0

    def __enter__(self) -> Callable[[int, int], None]:
        return self.update

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, done: int, total: int) -> None:
        if sys.stderr.isatty():
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=total, unit="passage", desc="Embedding", file=sys.stderr)
            self._bar.update(done - self._bar.n)
        elif done == total or done - self._last_line >= max(total // 10, 1):
            self._last_line = done
            click.echo(f"embedded {done:,}/{total:,} passages (and their sentences)", err=True)


def _engine(index: Path | None) -> Any:
    from index.engine import Engine

    return Engine(settings_for(index))


retriever_option = click.option(
    "--retriever",
    type=click.Choice(RETRIEVERS),
    default=None,
    help="Which search finds the passages (default: CITEBOT_RETRIEVER, else hybrid).",
)


def filter_options(command: Callable[..., R]) -> Callable[..., R]:
    """--since, --until and --outlet, given to the command as one `article_filter`."""

    @click.option("--since", metavar="DATE", help="Only articles published on or after DATE.")
    @click.option("--until", metavar="DATE", help="Only articles published on or before DATE.")
    @click.option("--outlet", metavar="NAME", help="Only articles from outlets named like NAME.")
    @wraps(command)
    def wrapper(
        *args: Any, since: str | None, until: str | None, outlet: str | None, **kwargs: Any
    ) -> R:
        try:
            article_filter = ArticleFilter.of(since, until, outlet)
        except CitebotError as error:
            raise BadInput(str(error)) from error
        return command(*args, article_filter=article_filter, **kwargs)

    return wrapper


@cli.command()
@click.argument("question")
@index_option
@retriever_option
@filter_options
@json_option
@reports_errors
def ask(
    question: str,
    index: Path | None,
    retriever: Retriever | None,
    article_filter: ArticleFilter | None,
    as_json: bool,
) -> None:
    """Answer QUESTION with verbatim quotes from the articles and numbered sources.

    DATE is YYYY-MM-DD, YYYY-MM or YYYY (a month or year means all of it).

    \b
    Examples:
        citebot ask "who is Lety Pérez?"
        citebot ask "who won the election?" --since 2022-11 --outlet cnn
    """
    from index.records import ABSTAIN_MESSAGE

    engine = _engine(index)
    engine.warm_up()
    answer = engine.ask(
        question,
        retriever=retriever,
        article_filter=article_filter,
        asked_on=datetime.now(UTC).date(),
    )
    if as_json:
        print_json(answer.as_json())
        return
    if answer.notice:
        click.echo(answer.notice, err=True)
    if answer.abstained:
        click.echo(ABSTAIN_MESSAGE)
        if answer.closest_titles:
            click.echo("Closest articles: " + "; ".join(answer.closest_titles))
        return
    if answer.people:
        named = ", ".join(f"{person} [{n}]" for n, person in enumerate(answer.people, start=1))
        click.echo(f"{SEVERAL_PEOPLE} {named}.")
    for part in answer.answer:
        markers = "".join(f"[{n}]" for n in part.citations)
        click.echo(f"“{_bold_highlight(part.text, part.highlight)}” {markers}")
    click.echo("\nSources:")
    for citation in answer.citations:
        details = ", ".join(
            part
            for part in (citation.source, citation.published, f"paragraph {citation.paragraph}")
            if part
        )
        click.echo(f"[{citation.n}] {citation.title} ({details}) id {citation.id}")
        if citation.url:
            click.echo(f"    {citation.url}")
    click.echo(f"\n({answer.took_ms:.0f} ms)", err=True)


def _bold_highlight(text: str, highlight: list[int] | None) -> str:
    """`text` with the answering phrase in bold (on a terminal; click drops the styling
    elsewhere)."""
    if not highlight:
        return text
    start, end = highlight
    return text[:start] + click.style(text[start:end], bold=True) + text[end:]


@cli.command()
@click.argument("query")
@index_option
@click.option("-k", "--k", "k", type=click.IntRange(1, 100), default=10, show_default=True)
@retriever_option
@filter_options
@json_option
@reports_errors
def search(
    query: str,
    index: Path | None,
    k: int,
    retriever: Retriever | None,
    article_filter: ArticleFilter | None,
    as_json: bool,
) -> None:
    """Rank passages for QUERY, showing ids, scores and which search found them.

    DATE is YYYY-MM-DD, YYYY-MM or YYYY (a month or year means all of it).

    \b
    Example:
        citebot search "lety perez" --k 5
    """
    results = _engine(index).search(query, k=k, retriever=retriever, article_filter=article_filter)
    if listed_as_json_or_none(results, as_json, "No passages found."):
        return
    for result in results:
        found_by = ", ".join(
            f"{name} #{rank}"
            for name, rank in (("dense", result.dense_rank), ("lexical", result.lexical_rank))
            if rank
        )
        paragraphs = (
            f"¶{result.paragraph_first}"
            if result.paragraph_first == result.paragraph_last
            else f"¶{result.paragraph_first}-{result.paragraph_last}"
        )
        click.echo(
            f"{result.rank}. {result.id}  score {result.score:.4f}  ({found_by})\n"
            f"   {result.title} {paragraphs}\n   {one_line(result.text, SEARCH_PREVIEW_CHARS)}"
        )


@cli.command()
@click.argument("citation_id")
@index_option
@click.option(
    "--context",
    type=click.IntRange(0, 50),
    default=1,
    show_default=True,
    help="Paragraphs to show on each side.",
)
@json_option
@reports_errors
def source(citation_id: str, index: Path | None, context: int, as_json: bool) -> None:
    """Show the passage a citation id names, its neighbouring paragraphs and the article.

    \b
    Example:
        citebot source 3f9a0c2b7d11-412-523 --context 2
    """
    view = _engine(index).sources.source(citation_id, context=context)
    if as_json:
        print_json(view.as_json())
        return
    meta = ", ".join(p for p in (view.source, view.author, view.published) if p)
    click.echo(f"{view.title}" + (f" ({meta})" if meta else ""))
    if view.url:
        click.echo(view.url)
    click.echo(f"article {view.article_id}, characters {view.start}-{view.end}\n")
    for paragraph in view.paragraphs:
        mark = ">" if paragraph.cited else " "
        click.echo(f"{mark} ¶{paragraph.number}  {paragraph.text}\n")


@cli.command("eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@index_option
@click.option(
    "-k",
    "--k",
    "k",
    type=click.IntRange(1, 100),
    default=10,
    show_default=True,
    help="Passages retrieved per question for hit@k and MRR.",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Measure lexical, dense and hybrid side by side, the reranker on and off (and, on"
    " SQuAD files without --index, each embedding backend and each store).",
)
@json_option
@reports_errors
def evaluate(file: Path, index: Path | None, k: int, compare: bool, as_json: bool) -> None:
    """Measure answer quality and speed on questions with gold answers.

    FILE is SQuAD-format JSON (its contexts are indexed into a temporary index unless --index
    is given) or JSONL of {"question", "answers": [...], "article_id"?}; a question without
    answers should be abstained on. With --compare on SQuAD JSON and no --index, the contexts
    are indexed once per embedding backend and once in the other store (a Milvus Lite file in
    a temporary directory, never the configured Milvus); the other backends' and store's rows
    are named like `hybrid:onnx-int8` and `hybrid:milvus`.

    \b
    Example:
        citebot eval ../shared/data/xquad_en_dev.json --compare
    """
    from index.evaluate import evaluate_file

    if not file.is_file():
        raise click.BadParameter(f"{file}: no such file", param_hint="FILE")
    run = evaluate_file(
        file,
        settings_for(index),
        index_given=index is not None,
        k=k,
        compare=compare,
        progress=lambda message: click.echo(message, err=True),
    )
    if as_json:
        print_json(run.as_json())
        return
    columns = {
        "hit@1": "hit@1",
        "hit@5": "hit@5",
        "hit@10": "hit@10",
        "mrr@10": "mrr@10",
        "answer@1": "answer@1",
        "answer@3": "answer@3",
        "abstain_precision": "abstain P",
        "abstain_recall": "abstain R",
        "p50_ms": "p50 ms",
        "p95_ms": "p95 ms",
    }
    click.echo(f"{run.questions} questions, k={k}\n")
    width = max(len("retriever"), *map(len, run.reports))
    click.echo("  ".join([f"{'retriever':<{width}}", *columns.values()]))
    for row, report in run.reports.items():
        values = report.as_json()
        cells = [
            f"{'-' if values[key] is None else format(values[key], '.3f'):>{len(header)}}"
            for key, header in columns.items()
        ]
        click.echo("  ".join([f"{row:<{width}}", *cells]))


@cli.command()
@index_option
@click.option(
    "--forget-user",
    type=int,
    default=None,
    metavar="USER_ID",
    help="Delete every vote of this Discord user id.",
)
@json_option
@reports_errors
def feedback(index: Path | None, forget_user: int | None, as_json: bool) -> None:
    """List the 👍 / 👎 votes given to answers in Discord (user ids are stored hashed).

    \b
    Example:
        citebot feedback --json
        citebot feedback --forget-user 123456789012345678
    """
    from index.feedback import FeedbackStore

    store = FeedbackStore.for_settings(settings_for(index))
    if forget_user is not None:
        click.echo(f"Deleted {store.forget_user(forget_user)} vote(s) of that user.")
        return
    entries = store.entries()
    if listed_as_json_or_none(entries, as_json, "No feedback yet."):
        return
    for entry in entries:
        vote = "👍" if entry.helpful else "👎"
        click.echo(
            f"{entry.at} {vote} {entry.question!r} -> {', '.join(entry.citation_ids) or '-'}"
        )


TOKEN_HELP = """\
citebot needs a Discord bot token to run. To get one:
  1. Open https://discord.com/developers/applications and create an application.
  2. Under "Bot", press "Reset Token" and copy it. Put it in .env as DISCORD_TOKEN=...
     (or export DISCORD_TOKEN). Keep it secret.
  3. Under "Bot" > "Privileged Gateway Intents", enable MESSAGE CONTENT only if you set
     DISCORD_ANSWER_CHANNELS (mentions, DMs, replies that keep their @ mention and slash
     commands work without it).
  4. Invite the bot with the scopes bot and applications.commands and the permissions
     View Channels, Send Messages, Send Messages in Threads, Create Public Threads,
     Read Message History and Embed Links (see README, "Discord").
Then run `citebot run` again."""


@cli.command()
@index_option
@reports_errors
def run(index: Path | None) -> None:
    """Start the Discord bot on the index (needs DISCORD_TOKEN); SIGTERM or Ctrl-C stops it.

    \b
    Example:
        DISCORD_TOKEN=... citebot run
    """
    settings = settings_for(index)
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if not token:
        click.echo(TOKEN_HELP, err=True)
        sys.exit(2)
    from bot.service import StartupError, serve

    # A bot is a service: say what it does (ready, reconnects, index switches) through the
    # one handler `citebot` set up, not a second one of discord.py's.
    _log_as_a_service()
    try:
        serve(settings, token)
    except StartupError as failure:
        click.echo(f"Error: {failure}", err=True)
        sys.exit(failure.exit_code)


@cli.command("serve")
@index_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface; see docs/web.md for a reverse proxy).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@reports_errors
def serve_web(index: Path | None, host: str, port: int) -> None:
    """Serve the answers as web pages and an HTTP API (read-only); Ctrl-C stops it.

    The same engine and index as `ask` and the bot; a rebuilt index is picked up between
    requests. /api/ask gives `ask --json`'s object.

    \b
    Example:
        citebot serve --port 8000
    """
    from bot.web.server import serve

    _log_as_a_service()
    serve(settings_for(index), host, port)


def _log_as_a_service() -> None:
    """Log what a service does (starting, index switches) at INFO, through the one handler
    `citebot` set up; the libraries' chatter stays out."""
    logging.getLogger().setLevel(logging.INFO)
    for chatty in ("faiss.loader", "sentence_transformers"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def main() -> None:
    """Entry point of the `citebot` console script."""
    cli()
