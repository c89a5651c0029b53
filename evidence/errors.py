"""Errors the library raises on purpose, and every exit code of the `evidence` command.

The CLI turns each `EvidenceError` into one line on stderr and exits with the class's
`exit_code`; this tree is the one place the codes are set (README "Exit codes" repeats them)::

    code  class                       meaning
       1  EvidenceError               anything the user can fix; the message says how
       3  ├── ConfigError             a setting is missing or malformed (e.g. no NCBI email)
       3  │   └── ModelError          a model file of the trained linker is missing or corrupt
       4  ├── DatabaseError           the database cannot be reached or opened
       4  │   └── SchemaOutOfDate     the database is behind (or ahead of) the code's migrations
      75  ├── LockHeld                another run holds the job's lock (sysexits EX_TEMPFAIL)
       2  ├── InputError              a file or argument the user gave is unusable
       2  │   ├── PubMedXMLError      a PubMed XML file/stream is malformed, truncated, not XML ...
       2  │   └── ClaimFileError      a catalog or claim set with problems (all of them are kept)
       5  ├── PubMedError             E-utilities failed after every retry, or refused the request
       5  │   ├── PubMedUnavailable   network, 429 or 5xx past the retry budget
       5  │   └── PubMedQueryError    NCBI answered with an <ERROR> that retrying cannot fix
       6  └── NotFound                an id the user named does not exist
       6      ├── ArticleNotFound     a PMID
       6      ├── ClaimNotFound       a claim id
       6      └── DocumentNotFound    a document slug

Exit codes that are not errors: `EXIT_NOTHING_NEW` and `EXIT_PARTIAL` (`evidence refresh`),
`EXIT_INTERRUPTED` (Ctrl-C; committed work is kept). Anything else leaves with a traceback and
exit code 1: a bug. The E-utilities client's retry signals (`pubmed.eutils.Transient`, ...)
are private to it and never leave it.
"""

from __future__ import annotations

EXIT_NOTHING_NEW = 10  # a refresh that found nothing new
EXIT_PARTIAL = 11  # a refresh that failed for some claims
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class EvidenceError(Exception):
    """Base class: an expected failure with a message that names the problem and the fix."""

    #: Process exit code the CLI uses for this kind of failure (see the table above).
    exit_code = 1


class ConfigError(EvidenceError):
    exit_code = 3


class ModelError(ConfigError):
    """A model directory or file is missing or unreadable; the message names the fix."""


class DatabaseError(EvidenceError):
    exit_code = 4


class SchemaOutOfDate(DatabaseError):
    exit_code = 4


class LockHeld(EvidenceError):
    """Another run holds the job's lock on this database."""

    exit_code = 75  # sysexits EX_TEMPFAIL: try again later

    def __init__(self, name: str, holder: object | None, waited: float | None) -> None:
        # `holder` is a `store.locks.LockInfo` (typed loosely: errors import nothing)
        self.name, self.holder = name, holder
        who = f" ({holder})" if holder else ""  # None: not known (yet)
        advice = (
            "wait with --wait or try later"
            if waited is None
            else f"gave up after waiting {waited:g} s; try later"
        )
        super().__init__(f"another evidence {name} holds the lock on this database{who}; {advice}")


class InputError(EvidenceError):
    exit_code = 2


class PubMedXMLError(InputError):
    pass


class ClaimFileError(InputError):
    """A catalog or claim set with problems; the message is the first, the rest are kept."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class PubMedError(EvidenceError):
    exit_code = 5


class PubMedUnavailable(PubMedError):
    pass


class PubMedQueryError(PubMedError):
    pass


class NotFound(EvidenceError):
    exit_code = 6


class ArticleNotFound(NotFound):
    pass


class ClaimNotFound(NotFound):
    pass


class DocumentNotFound(NotFound):
    pass
