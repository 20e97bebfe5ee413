"""Errors that unsock reports to people: one line, what went wrong and what to do."""


class UnsockError(Exception):
    """A problem the user can fix; str() is the message without the 'unsock: ' prefix."""


class ConfigError(UnsockError):
    """An invalid configuration value."""
