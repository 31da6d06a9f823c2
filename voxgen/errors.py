"""The one exception type for user mistakes (bad files, bad options).

The CLI turns a `VoxgenError` into a one-line message and exit code 2;
anything else is a bug and keeps its traceback.
"""


class VoxgenError(Exception):
    """A problem with user input. `str(err)` is the one line shown to users."""

    def __init__(self, message: str, path=None):
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


def fail(path, message: str):
    """Raise a VoxgenError naming `path` (may be None)."""
    raise VoxgenError(message, path)
