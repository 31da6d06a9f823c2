"""The one exception type for user mistakes (bad files, bad options).

The CLI turns a `VoxgenError` into a one-line message and exit code 2;
anything else is a bug and keeps its traceback.
"""

from pathlib import Path


class VoxgenError(Exception):
    """A problem with user input. `str(err)` is the one line shown to users."""

    def __init__(self, message: str, path=None):
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


def make_dir(path) -> None:
    """Create directory `path` (and its parents) or raise a VoxgenError
    naming it: an output folder the user asked for that cannot be made."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise VoxgenError("exists and is not a directory", path) from None
    except OSError as err:
        raise VoxgenError(f"cannot create directory ({err.strerror or err})", path) from None


def fail(path, message: str):
    """Raise a VoxgenError naming `path` (may be None)."""
    raise VoxgenError(message, path)
