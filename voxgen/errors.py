"""The one exception type for user mistakes (bad files, bad options).

The CLI turns a `VoxgenError` into a one-line message and exit code 2;
anything else is a bug and keeps its traceback.
"""

import operator
from pathlib import Path


class VoxgenError(Exception):
    """A problem with user input. `str(err)` is the one line shown to users."""

    def __init__(self, message: str, path=None):
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class ParameterError(VoxgenError):
    """A library function's argument refused, named as a Python caller wrote
    it: `at=99: a cut along x must leave blocks on both sides: use 3..5`.

    A command that passed its option `--at` straight through shows the same
    problem in its own words with `as_option()`: `--at 99: ...`.
    """

    def __init__(self, param: str, value, problem: str):
        self.param, self.value, self.problem = param, value, problem
        super().__init__(f"{param}={value!r}: {problem}")

    def as_option(self, flag: str | None = None, path=None) -> VoxgenError:
        """The same problem naming the command-line option (default
        `--PARAM`, underscores as dashes) and the value as typed, and the
        file it concerns (`path`), if any."""
        flag = flag or "--" + self.param.replace("_", "-")
        return VoxgenError(f"{flag} {self.value}: {self.problem}", path)


def whole_number(param: str, value, least: int | None = None) -> int:
    """`value` as a Python int (a numpy integer too, so the report stays
    JSON); a float, bool or string is refused, not truncated."""
    try:
        if isinstance(value, bool):
            raise TypeError
        number = int(operator.index(value))
    except TypeError:
        raise ParameterError(param, value, "must be an integer") from None
    if least is not None and number < least:
        raise ParameterError(param, value, f"must be >= {least}")
    return number


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
