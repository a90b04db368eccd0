"""What other domains read of the audit chain inside their own session: the board's audit
light verifies the chain with the operator's key."""

from __future__ import annotations

from andon.audit.chain import verify as verify_chain
from andon.audit.keys import load_key

__all__ = ["load_key", "verify_chain"]
