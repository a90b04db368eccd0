"""The registry: tracked runs, models, immutable versions with safe artifacts, aliases."""
