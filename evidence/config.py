"""Settings from the environment (and CLI flags): where the database is, how to reach NCBI.

NCBI's own names are used for NCBI settings (`NCBI_EMAIL`, `NCBI_API_KEY`, as EDirect reads
them); everything else is `EVIDENCE_*`. Nothing here is read at import time: the CLI builds one
`Settings()` per invocation and passes plain values down, so the library never reads the
environment itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def evidence_home() -> Path:
    """The data directory: `EVIDENCE_HOME`, else the platform's user data directory."""
    home = os.environ.get("EVIDENCE_HOME")
    return Path(home).expanduser() if home else Path(user_data_dir("evidence", appauthor=False))


def default_database_url() -> str:
    """An SQLite file in the data directory: embedded, zero set-up."""
    return f"sqlite:///{evidence_home() / 'evidence.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    ncbi_email: str | None = Field(
        default=None, validation_alias=AliasChoices("NCBI_EMAIL", "EVIDENCE_NCBI_EMAIL")
    )
    # SecretStr keeps the key out of reprs, tracebacks and logs.
    ncbi_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("NCBI_API_KEY", "EVIDENCE_NCBI_API_KEY")
    )
    eutils_url: str | None = None
    batch_size: int = Field(default=500, ge=1, le=10_000)
    # Retry budget for E-utilities: attempts per request, and the first backoff in seconds
    # (doubled per retry, with jitter, capped at a minute).
    eutils_max_tries: int = Field(default=6, ge=1, le=20)
    eutils_backoff: float = Field(default=1.0, ge=0.0, le=60.0)
    # The linker that suggests links (`evidence.linking.linkers`). "hybrid" by default: the
    # lexical reading where it commits, the trained model's where the lexical relevance gate
    # turned evidence away; it beats both alone on the held-out sets (README "Linking").
    # EVIDENCE_STANCE_MODEL names another model directory of the same format.
    linker: Literal["hybrid", "trained", "lexical"] = "hybrid"
    stance_model: Path | None = None
    # Seconds between requests to an `eutils_url` other than NCBI's (a mirror or a test
    # stand-in with its own limits). Requests to NCBI always keep NCBI's limit.
    eutils_interval: float | None = Field(default=None, ge=0.0, le=10.0)

    def api_key(self) -> str | None:
        """The API key in clear, for the one place that sends it to NCBI."""
        if self.ncbi_api_key is None or not self.ncbi_api_key.get_secret_value():
            return None
        return self.ncbi_api_key.get_secret_value()
