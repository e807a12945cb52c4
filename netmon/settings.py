"""Runtime settings from the environment (``NETMON_*``) — one place for every knob.

Secrets are not settings: they are resolved from ``env:``/``file:`` references in
the inventory's credential profiles (:mod:`netmon.secrets`).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETMON_", extra="ignore")

    database_url: str = "sqlite:///netmon.db"
    """SQLite file in the working directory by default; ``postgresql+psycopg://…`` in production."""
    inventory: str = "inventory"


def get_settings() -> Settings:
    return Settings()
