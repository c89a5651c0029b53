"""Outputs: what leaves the database for people and programs.

Owns the reviewer's report site and its templates (`report`, `templates/`) and the analyst
exports (`export`: tables, data dictionary, bundles, citations).

May import: the stages (`grading`, `linking`, `claims`, `pubmed`), `evidence.store` and the base
modules. Never `evidence.jobs` or `evidence.cli`.
"""
