"""Errors the runner reports as one line, with the exit code they map to."""


class InputError(Exception):
    """Bad input (blueprint, connections, settings): exit code 2, nothing written."""

    exit_code = 2
