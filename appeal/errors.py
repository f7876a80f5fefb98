"""The one kind of error a user sees: a clear message, exit status 2, no traceback."""


class UserError(Exception):
    """A problem with the user's input (data, options, assets), reported in one message."""

    exit_status = 2
