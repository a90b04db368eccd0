"""Typed settings from ``ANDON_*`` environment variables.

Nothing reads the environment at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from andon.core.errors import Invalid

SQL_TIMEOUT_SECONDS = 60.0
"""How long one custom SQL query (a ``type: sql`` rule) may run, by default."""
SQL_MEMORY_LIMIT = "4GB"
"""DuckDB's memory limit for the connection that runs a contract's checks, by default."""
_MEMORY = r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$"


class Settings(BaseSettings):
    """Everything andon can be configured with. Each field maps to ``ANDON_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ANDON_", extra="ignore", frozen=True)

    home: Path = Field(default=Path(".andon"), description="Folder for the embedded store.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite at HOME/andon.db."
    )
    principal: str = Field(
        default="admin", min_length=1, description="Principal the local CLI acts as."
    )
    host: str = Field(default="127.0.0.1", description="Address `andon serve` binds.")
    port: int = Field(default=8765, ge=1, le=65535, description="Port `andon serve` binds.")
    log_level: str = Field(default="WARNING", description="Python logging level name.")
    sql_timeout_seconds: float = Field(
        default=SQL_TIMEOUT_SECONDS,
        gt=0,
        le=86400,
        description="Time limit of one custom SQL query (a `type: sql` rule), in seconds.",
    )
    sql_memory_limit: str = Field(
        default=SQL_MEMORY_LIMIT,
        pattern=_MEMORY,
        description="DuckDB memory limit of the connection that runs checks (e.g. 4GB, 512MB).",
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request body `andon serve` reads (bytes); larger ones get 413.",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="The audit chain's HMAC key (at least 32 characters); wins over the file.",
    )
    audit_key_file: Path | None = Field(
        default=None, description="File holding the audit key; default HOME/audit.key (0600)."
    )
    audit_anchor_interval: float = Field(
        default=300.0,
        ge=0,
        description="Seconds between automatic anchors of the audit head under `andon serve` "
        "(0 turns them off).",
    )
    audit_anchor_file: Path | None = Field(
        default=None,
        description="JSON-lines file `andon serve` appends anchors to; default "
        "HOME/audit-anchors.jsonl.",
    )
    audit_anchor_url: str | None = Field(
        default=None, description="URL `andon serve` also POSTs each anchor to."
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector the gateway also sends its request spans to "
        "(e.g. http://127.0.0.1:4318); they are always spooled under HOME/telemetry/spool.",
    )
    telemetry_max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest OTLP request body the telemetry receiver reads (bytes, as sent); "
        "decompressed, a body may be at most 8 times this.",
    )
    telemetry_port: int = Field(
        default=4318, ge=1, le=65535, description="Port `andon telemetry serve` binds (OTLP/HTTP)."
    )
    telemetry_export_url: str | None = Field(
        default=None,
        description="OTLP/HTTP collector (e.g. http://collector:4318) the telemetry writer sends "
        "every kept trace on to, at URL/v1/traces.",
    )
    telemetry_export_headers: SecretStr | None = Field(
        default=None,
        description="Headers sent with each export, as OpenTelemetry writes them: "
        "key=value,key=value (URL-encoded values); never logged.",
    )
    telemetry_cold_url: str | None = Field(
        default=None,
        description="Where the telemetry cold tier lives: a local path or an fsspec URL "
        "(s3://bucket/prefix, gs://, az://, file://, memory://); default HOME/telemetry/cold. "
        "Credentials come from the filesystem's own variables (AWS_* for s3), never the URL.",
    )
    telemetry_cold_endpoint: str | None = Field(
        default=None,
        description="Endpoint of an S3-compatible store or GCS emulator holding the cold tier "
        "(e.g. http://127.0.0.1:9000 for MinIO).",
    )
    run_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="A running run without a heartbeat for this long is marked killed.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if not scheme.startswith(("sqlite", "postgresql")):
            raise ValueError(
                "must start with sqlite:/// or postgresql+psycopg:// (got "
                f"{scheme + '://' if scheme else 'no scheme'})"
            )
        return value

    @field_validator("telemetry_export_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")) or value[-3:] == "://":
            raise ValueError("must be an http:// or https:// URL of an OTLP/HTTP collector")
        return value.strip().rstrip("/")

    @field_validator("telemetry_cold_url")
    @classmethod
    def _cold_url(cls, value: str | None) -> str | None:
        # Never quote the value: a URL may carry a password.
        if value is None or not value.strip():
            return None
        value = value.strip()
        if "::" in value:
            raise ValueError("chained fsspec URLs (a::b) are not supported; give one URL")
        if "://" not in value:
            return value
        protocol, rest = value.split("://", 1)
        import fsspec

        if protocol.lower() not in fsspec.available_protocols():
            raise ValueError(
                f"{protocol!r} is not a protocol fsspec knows (s3, gs, az, file, memory...)"
                if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{0,30}", protocol)
                else "does not start with a protocol fsspec knows (s3://, gs://, file://...)"
            )
        netloc = rest.split("/", 1)[0]
        if ":" in netloc.rpartition("@")[0]:
            raise ValueError(
                "must not carry a password; give credentials through the filesystem's own "
                "variables (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for s3)"
            )
        if not rest.strip("/"):
            raise ValueError(f"names no bucket or folder after {protocol}://")
        return value.rstrip("/")

    @field_validator("telemetry_cold_endpoint")
    @classmethod
    def _cold_endpoint(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")) or value.strip()[-3:] == "://":
            raise ValueError("must be an http:// or https:// URL of the store's endpoint")
        if "@" in value.split("://", 1)[1].split("/", 1)[0]:
            raise ValueError("must not carry credentials; use the filesystem's own variables")
        return value.strip().rstrip("/")

    @field_validator("host")
    @classmethod
    def _valid_host(cls, value: str) -> str:
        if value == "localhost":
            return value
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or 'localhost'") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _valid_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'andon.db').resolve()}"

    @property
    def resolved_audit_key_file(self) -> Path:
        """Where the audit key file is (whether or not it exists)."""
        return self.audit_key_file or self.home / "audit.key"

    @property
    def resolved_audit_anchor_file(self) -> Path:
        """Where `andon serve` appends anchors of the audit head."""
        return self.audit_anchor_file or self.home / "audit-anchors.jsonl"

    @property
    def artifact_dir(self) -> Path:
        """Where content-addressed artifacts live."""
        return self.home / "artifacts"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "ANDON_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise Invalid(message, field=name) from None
