"""The one error the benchmark reports to its user: a cause in one line, never a traceback."""


class BenchError(Exception):
    """A failure with a cause the user can act on; `exit_code` 2 for bad input, 1 otherwise."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
