"""`evidence articles`: look at stored articles."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich.table import Table

from evidence.cli.app import App, pass_app
from evidence.cli.output import print_table
from evidence.errors import ArticleNotFound, InputError
from evidence.store import articles as store
from evidence.store import search_index
from evidence.store.db import connect
from evidence.store.records import ParsedArticle


@click.group()
def articles() -> None:
    """Look up stored articles."""


def _authors(article: ParsedArticle) -> str:
    names = [a.collective_name or f"{a.last_name or ''} {a.initials or ''}".strip()
             for a in article.authors]  # fmt: skip
    return ", ".join(names[:6]) + (", et al." if len(names) > 6 else "")


@articles.command()
@click.argument("pmid")
@click.option("--json", "as_json", is_flag=True, help="The whole stored record as JSON.")
@pass_app
def show(app: App, pmid: str, as_json: bool) -> None:
    """Show one article: title, abstract, publication types, MeSH, corrections, history.

    Example:

    \b
        evidence articles show 33847897
    """
    if not pmid.isdigit():
        raise InputError(f"not a PMID: {pmid!r}; a PMID is a number such as 33847897")
    engine = app.ready_engine()
    with connect(engine) as conn:
        article = store.load_article(conn, int(pmid))
        if article is None:
            raise ArticleNotFound(
                f"PMID {pmid} is not in the database; fetch it with: "
                f'evidence pubmed search "{pmid}[pmid]"'
            )
        flags = store.article_flags(conn, int(pmid))
        revisions = store.revisions(conn, int(pmid))
    if as_json:
        payload = asdict(article) | {"is_deleted": bool(flags["is_deleted"]),
                                     "revisions": revisions}  # fmt: skip
        click.echo(json.dumps(payload, default=str, ensure_ascii=False, indent=2))
        return
    out = []
    out.append(f"PMID {article.pmid} (version {article.version})"
               + ("  [DELETED from PubMed]" if flags["is_deleted"] else ""))  # fmt: skip
    out.append(article.title)
    if article.authors:
        out.append(_authors(article))
    journal = article.journal_iso or article.journal_title or ""
    raw_date = article.pub_date.raw if article.pub_date else ""
    out.append(f"{journal} {raw_date}".strip() + (f"  doi:{article.doi}" if article.doi else ""))
    out.append(f"Status: {article.status or '-'}; revised {article.date_revised or '-'}; "
               f"entered PubMed {article.entrez_date or '-'}")  # fmt: skip
    out.append("")
    if article.sections:
        for section in article.sections:
            out.append(f"{section.label}: {section.text}" if section.label else section.text)
    else:
        out.append("(no abstract)")
    out.append("")
    out.append("Publication types: " + "; ".join(t.name for t in article.publication_types))
    if article.mesh_headings:
        mesh = []
        for m in article.mesh_headings:
            quals = "/".join(q.name + ("*" if q.major else "") for q in m.qualifiers)
            mesh.append(m.descriptor + ("*" if m.major else "") + (f"/{quals}" if quals else ""))
        out.append("MeSH (* major): " + "; ".join(mesh))
    if article.keywords:
        out.append("Keywords: " + "; ".join(k.text for k in article.keywords))
    for cc in article.comments_corrections:
        ref = f"PMID {cc.pmid}" if cc.pmid else (cc.ref_source or "")
        out.append(f"{cc.ref_type}: {ref}")
    if revisions:
        states = (f"v{rev['version']} revised {rev['date_revised'] or '-'}" for rev in revisions)
        out.append("Earlier states: " + "; ".join(states))
    click.echo("\n".join(out))


@articles.command("search")
@click.argument("words")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@pass_app
def search_cmd(app: App, words: str, limit: int) -> None:
    """Full-text search of stored titles and abstracts (FTS5 / PostgreSQL tsvector).

    Example:

    \b
        evidence articles search "mitragynine opioid receptor"
    """
    engine = app.ready_engine()
    with connect(engine) as conn:
        hits = search_index.search(conn, words, limit=limit)
        # Raw BM25 / ts_rank values depend on the corpus (on a few hundred records FTS5's IDF
        # is clamped near zero and every hit showed 0.00): shown relative to the best hit.
        best = max((hit.score for hit in hits), default=0.0)
        table = Table("PMID", "score (best = 1)", "year", "title")
        for hit in hits:
            article = store.load_article(conn, hit.pmid)
            assert article is not None
            year = article.pub_date.year if article.pub_date else None
            score = f"{hit.score / best:.2f}" if best > 0 else "-"
            table.add_row(str(hit.pmid), score, str(year or ""), article.title)
    if not hits:
        click.echo("no matches")
        return
    print_table(table)
