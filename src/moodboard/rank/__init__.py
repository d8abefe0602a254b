"""rank package."""
