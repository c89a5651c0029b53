"""Linking: claims against stored abstracts, with a stance and rationale sentences.

Owns sentence splitting (`sentences`), the pure stance linker (`stance`) and candidate retrieval
plus stored link suggestions (`suggestions`).

May import: `evidence.claims`, `evidence.store` and the base modules.
"""
