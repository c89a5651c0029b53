"""Grading: reviews of links, study appraisals, claim certainty and the verdict history.

Owns the rules' constants (`rules`), study appraisal (`appraisal`), claim certainty and verdict
(`certainty`), overrides and flags (`overrides`), reviewers' decisions (`reviews`), the verdict
history (`verdicts`) and grading from what the database holds (`grades`).

May import: `evidence.linking`, `evidence.claims`, `evidence.store` and the base modules.
"""
