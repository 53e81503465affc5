"""Depth backends, one module each; the registry imports them by name on demand."""
