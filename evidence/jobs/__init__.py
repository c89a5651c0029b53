"""Jobs: the workflows, each one library call that the CLI (or a scheduler) runs.

Owns ingest of files and searches (`ingest`), the audit (`audit`), the scheduled refresh
(`refresh`) and its digest (`digest`).

May import: `evidence.outputs`, the stages and `evidence.store`. Never `evidence.cli`.
"""
