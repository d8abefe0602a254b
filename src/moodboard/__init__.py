"""moodboard: an open, self-hostable conversational visual discovery engine."""

__version__ = "0.1.0"
