"""The store: the database and everything that reads or writes its article side.

Owns engines, sessions and migration state (`db`), the tables (`models`), single-flight locks
(`locks`), a parsed record's values (`records`) and rows (`rows`), article writes and reads
(`articles`) and the full-text index (`search_index`).

May import: `evidence.errors`, `evidence.config`, `evidence.vocab` and itself. Nothing here
knows about PubMed, claims, links, grades or outputs; every stage imports the store.
"""
