"""Errors the library raises on purpose; the CLI turns each into a one-line message.

The tree::

    EvidenceError                 anything the user can fix; the message says how
    ├── ConfigError               a setting is missing or malformed (e.g. no NCBI email)
    ├── DatabaseError             the database cannot be reached or opened
    │   └── SchemaOutOfDate       the database is behind (or ahead of) the code's migrations
    ├── InputError                a file or argument the user gave is unusable
    │   └── PubMedXMLError        a PubMed XML file/stream is malformed, truncated, not XML ...
    ├── PubMedError               E-utilities failed after every retry, or refused the request
    │   ├── PubMedUnavailable     network, 429 or 5xx past the retry budget
    │   └── PubMedQueryError      NCBI answered with an <ERROR> that retrying cannot fix
    └── NotFound                  an id the user named does not exist
        └── ArticleNotFound
"""

from __future__ import annotations


class EvidenceError(Exception):
    """Base class: an expected failure with a message that names the problem and the fix."""

    #: Process exit code the CLI uses for this kind of failure (see README "Exit codes").
    exit_code = 1


class ConfigError(EvidenceError):
    exit_code = 3


class DatabaseError(EvidenceError):
    exit_code = 4


class SchemaOutOfDate(DatabaseError):
    exit_code = 4


class InputError(EvidenceError):
    exit_code = 2


class PubMedXMLError(InputError):
    pass


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
