"""Errors that the CLI turns into a message and exit code 2 instead of a traceback."""


class UserError(Exception):
    """Bad input from the user (unknown name, bad value, missing or malformed file)."""


class DataError(UserError, ValueError):
    """A data file is missing or malformed: a UserError that names the file, what is wrong and what is valid."""
