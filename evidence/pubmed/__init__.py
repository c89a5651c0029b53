"""PubMed: from E-utilities and XML files to `evidence.store.records` values.

Owns the E-utilities client (`client`, the only importer of `Bio.Entrez`), response parsing and
failure classification (`eutils`), the host-wide rate limiter (`ratelimit`), the XML parser
(`parsing`), publication dates (`dates`) and the parse worker process (`parse_worker`).

May import: `evidence.store` and the base modules (`errors`, `config`, `vocab`, `provenance`).
"""
