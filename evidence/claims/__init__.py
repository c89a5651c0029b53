"""Claims: the documents that make them and the claim catalog.

Owns documents, their versions and verified quotes (`documents`) and claims with their type,
quotes and saved PubMed query, loaded from catalogs and claim files (`catalog`).

May import: `evidence.store` and the base modules (`errors`, `config`, `vocab`).
"""
