"""Model cards: facts gathered from the line (data, runs, evaluations, approvals) and the owner's narrative."""
