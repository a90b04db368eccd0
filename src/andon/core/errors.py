"""Errors a person can act on.

Every error andon raises on purpose derives from :class:`AndonError` and declares how the
doors present it: ``http_status`` for the API (RFC 9457 problem+json) and ``exit_code`` for
the CLI (DESIGN.md: 2 usage/invalid, 3 forbidden, 4 gate or check failed, 1 other)::

    AndonError                 500 / 1
    ├── Invalid                422 / 2   bad input: a field and what is wrong with it
    │   ├── TooLarge           413 / 2   a body past its size limit, also once decompressed
    │   └── UnsupportedMediaType
    │                          415 / 2   a content type or encoding andon does not read
    ├── Unauthenticated        401 / 3   missing, malformed, unknown or revoked token
    ├── Forbidden              403 / 3   the principal lacks the permission
    ├── NotFound               404 / 1
    ├── Conflict               409 / 1   the name exists, the state moved underneath
    ├── GateFailed             409 / 4   a gate or check said no
    │   └── TamperedArtifact   409 / 4   a stored artifact no longer matches its digest
    ├── BudgetExceeded         429 / 1
    ├── Stopped                423 / 1   the andon cord is pulled
    └── Unavailable            503 / 1   the database or another dependency cannot be reached
        └── SchemaMismatch     503 / 1   the database schema is not the one this andon expects
"""

from __future__ import annotations

from typing import Any, ClassVar


class AndonError(Exception):
    """Base of every deliberate andon error."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    title: ClassVar[str] = "andon error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        """``field`` names the service's parameter (``dataset_version``), never a door's
        spelling of it; ``details`` go into the problem document, and ``details["hint"]``
        is advice for the person, shown by each door its own way."""
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The error as an RFC 9457 problem document."""
        doc: dict[str, Any] = {
            "type": f"https://andon.dev/problems/{self.slug()}",
            "title": self.title,
            "status": self.http_status,
            "detail": str(self),
        }
        if instance:
            doc["instance"] = instance
        if self.field:
            doc["field"] = self.field
        if self.details:
            doc.update(self.details)
        return doc

    @classmethod
    def slug(cls) -> str:
        """Kebab-case problem type name derived from the class name."""
        out = []
        for i, ch in enumerate(cls.__name__):
            if ch.isupper() and i:
                out.append("-")
            out.append(ch.lower())
        return "".join(out)


class Invalid(AndonError):
    """Input is malformed or out of range."""

    http_status = 422
    exit_code = 2
    title = "invalid input"


class TooLarge(Invalid):
    """A request body or document is larger than the limit (also once decompressed)."""

    http_status = 413
    title = "too large"


class UnsupportedMediaType(Invalid):
    """The body's content type or content encoding is not one andon reads."""

    http_status = 415
    title = "unsupported media type"


class Unauthenticated(AndonError):
    """The caller could not be identified."""

    http_status = 401
    exit_code = 3
    title = "not authenticated"


class Forbidden(AndonError):
    """The principal is known but lacks the permission."""

    http_status = 403
    exit_code = 3
    title = "forbidden"


class NotFound(AndonError):
    """The named object does not exist."""

    http_status = 404
    exit_code = 1
    title = "not found"


class Conflict(AndonError):
    """The change collides with existing state."""

    http_status = 409
    exit_code = 1
    title = "conflict"


class GateFailed(AndonError):
    """A gate, check or verification said no."""

    http_status = 409
    exit_code = 4
    title = "gate failed"


class TamperedArtifact(GateFailed):
    """A stored artifact's bytes no longer hash to the digest it was stored under."""

    title = "tampered artifact"


class BudgetExceeded(AndonError):
    """A budget or quota is exhausted."""

    http_status = 429
    exit_code = 1
    title = "budget exceeded"


class Stopped(AndonError):
    """The andon cord is pulled for this object."""

    http_status = 423
    exit_code = 1
    title = "stopped"


class Unavailable(AndonError):
    """A dependency (usually the database) cannot be reached."""

    http_status = 503
    exit_code = 1
    title = "unavailable"


class SchemaMismatch(Unavailable):
    """The database schema revision is not the one this andon expects."""

    title = "schema mismatch"
