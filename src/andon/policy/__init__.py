"""Gates as CEL policy over named facts, four-eyes approvals, promotion and rollback."""
