"""Core types shared by every layer: settings, errors, records and array aliases."""
