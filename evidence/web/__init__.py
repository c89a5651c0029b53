"""The reviewers' workbench: `evidence serve`, a server-rendered web app over the library.

`auth` holds accounts, sessions, CSRF and login throttling; `views` reads what each page shows;
`app` is the Starlette app. Decisions go through `evidence.jobs.review.record_decision`, the
same call as `evidence review decide`.

May import: `evidence.jobs`, `evidence.outputs`, the stages, `evidence.store` and the base
modules (like `evidence.cli`, beside which it sits); `evidence.cli` imports it for `serve`.
"""

from evidence.web.app import create_app

__all__ = ["create_app"]
