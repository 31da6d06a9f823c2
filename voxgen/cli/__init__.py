"""The `voxgen` command line (layer L6, an edge).

Each command lives in its own module under `voxgen/cli/` and is imported only
when invoked, so `voxgen --help` stays instant. A `VoxgenError` becomes one
line on stderr and exit code 2, and so does an OSError (a disk full, a
permission refused: the machine's trouble, not a bug), naming its file.
"""

from __future__ import annotations

import importlib
import math
import os
import signal
import sys
from contextlib import contextmanager

import click

from voxgen.atomic_write import PENDING_SIGNALS, raise_pending_signal
from voxgen.errors import VoxgenError

# command name -> (module, one-line help). Modules define a click command
# named after the module's last component.
COMMANDS = {
    "info": ("voxgen.cli.info", "Describe a blueprint file."),
    "convert": ("voxgen.cli.convert", "Convert a blueprint between formats."),
    "train": ("voxgen.cli.train", "Train an NCA to grow a structure."),
    "grow": ("voxgen.cli.grow", "Grow a structure from its seed."),
    "simulate": ("voxgen.cli.simulate", "Run a machine in the tick-exact physics."),
    "cut": ("voxgen.cli.cut", "Cut a structure in two along a plane."),
    "regen": ("voxgen.cli.regen", "Cut a grown creature and regrow both halves."),
    "render": ("voxgen.cli.render", "Render a blueprint or growth to PNG/GIF/MP4."),
    "view": ("voxgen.cli.view", "Open the interactive 3D viewer."),
    "export": ("voxgen.cli.export", "Export a blueprint as a mesh (.glb/.obj/.ply)."),
}


# Seeds go to numpy and torch, which take 0 .. 2^63 - 1; every command's --seed uses this.
SEED = click.IntRange(0, 2**63 - 1)


class FiniteFloat(click.FloatRange):
    """A float option that refuses nan and inf (FloatRange lets nan through)."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:
        if self.min is None and self.max is None:      # click would print "x<=None"
            return "finite"
        return super()._describe_range()


class OneLineUsageError(click.ClickException):
    """A click usage error shown as one line, "voxgen: error: ...", exit 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"voxgen: error: {self.message}", err=True)

    @classmethod
    def from_usage_error(cls, err: click.UsageError) -> "OneLineUsageError":
        command = err.ctx.command_path.partition(" ")[2] if err.ctx is not None else ""
        message = " ".join(err.format_message().split())
        return cls(f"{command}: {message}" if command else message)


class Terminated(SystemExit):
    """SIGTERM or SIGHUP arrived (a timeout, kill, the terminal closed):
    raised to unwind like Ctrl-C does, so `finally` blocks remove temporary
    files."""


# Signals that end a command the way Ctrl-C does (SIGHUP: the terminal closed).
_ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _remembered(exception: BaseException):
    """Raise a signal's `exception`, kept in PENDING_SIGNALS in case a C
    callback drops it."""
    PENDING_SIGNALS[:] = [exception]
    raise exception


def _terminate(signum, frame):
    _remembered(Terminated(128 + signum))


def _quiet_dropped_signal(hook):
    """`hook` (sys.unraisablehook: Python's report of an exception a C
    callback dropped), less the signal's own, raised again before anything
    is committed: no traceback for it."""
    def report(unraisable):
        if unraisable.exc_value is None or unraisable.exc_value not in PENDING_SIGNALS:
            hook(unraisable)
    return report


def _interrupt(signum, frame):
    """Python's own Ctrl-C, remembered as `_terminate` remembers a SIGTERM."""
    _remembered(KeyboardInterrupt())


def _signal_cause(err: BaseException):
    """The Ctrl-C or Terminated at the root of `err`'s chain of causes, or None."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, (KeyboardInterrupt, Terminated)):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod)]

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        return getattr(module, name)

    def format_commands(self, ctx, formatter):
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise OneLineUsageError.from_usage_error(err) from None

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        self._invoked = (name, cmd, list(rest))
        return name, cmd, rest

    def _invocation(self) -> str:
        """The command and its positional (file) arguments, for a message
        that has no file of its own: "export bigtoml.toml"."""
        name, cmd, args = getattr(self, "_invoked", (None, None, []))
        if name is None:
            return ""
        words = [name]
        try:
            sub = cmd.make_context(name, list(args), resilient_parsing=True)
            for param in cmd.params:
                if isinstance(param, click.Argument):
                    value = sub.params.get(param.name)
                    values = value if isinstance(value, (list, tuple)) else [value]
                    words += [str(v) for v in values if v is not None]
        except Exception:                    # a best effort: the command's name alone
            pass
        return " ".join(words)

    def invoke(self, ctx):
        previous = {}
        PENDING_SIGNALS.clear()
        handlers = {signum: _terminate for signum in _ENDING_SIGNALS}
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            handlers[signal.SIGINT] = _interrupt
        for signum, handler in handlers.items():
            try:
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue                 # `nohup voxgen ...`: keep ignoring it
                previous[signum] = signal.signal(signum, handler)
            except (ValueError, OSError):    # not the main thread: leave signals alone
                break
        unraisable_hook = sys.unraisablehook
        sys.unraisablehook = _quiet_dropped_signal(unraisable_hook)
        try:
            try:
                result = super().invoke(ctx)
            except Exception:
                raise_pending_signal()       # what failed after a dropped signal (numba left a kernel half compiled)
                raise
            raise_pending_signal()           # dropped where numba compiled: the command still ends by it
            return result
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise OneLineUsageError.from_usage_error(err) from None
        except click.ClickException as err:
            if isinstance(err, OneLineUsageError):
                raise
            click.echo(f"voxgen: error: {' '.join(err.format_message().split())}", err=True)
            sys.exit(err.exit_code)
        except VoxgenError as err:
            click.echo(f"voxgen: error: {err}", err=True)
            sys.exit(2)
        except BrokenPipeError:
            # the reader went away (`voxgen info temple | head`): stop quietly,
            # and keep Python from complaining while it flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as err:
            where = f"{err.filename}: " if err.filename else ""
            click.echo(f"voxgen: error: {where}{err.strerror or err}", err=True)
            sys.exit(2)
        except MemoryError:
            # a last resort: the commands check sizes before they allocate
            where = self._invocation()
            click.echo(f"voxgen: error: {where + ': ' if where else ''}out of memory", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("voxgen: interrupted", err=True)
            sys.exit(130)
        except Terminated as err:
            click.echo("voxgen: terminated", err=True)
            sys.exit(err.code)
        except SystemError as err:
            # a signal's exception raised while numba ran compiled code comes
            # back wrapped, once or more ("returned a result with an exception
            # set": a kernel, around numba's own unpickling of its constants)
            cause = _signal_cause(err)
            if isinstance(cause, Terminated):
                click.echo("voxgen: terminated", err=True)
                sys.exit(cause.code)
            if isinstance(cause, KeyboardInterrupt):
                click.echo("voxgen: interrupted", err=True)
                sys.exit(130)
            raise
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
            PENDING_SIGNALS.clear()
            sys.unraisablehook = unraisable_hook


def empty_path_error(name: str, what: str, example: str) -> VoxgenError:
    """The one-line error for a path option or argument given as '' (Path('')
    is the current folder: `--frames ''` wrote its frames there). `name`:
    the option (`--frames`) or argument (`FILE|NAME`) as --help shows it."""
    typed = f"{name} {example}" if name.startswith("-") else example
    return VoxgenError(f"{name} is empty: give {what}, e.g. {typed}")


class GivenPath(click.Path):
    """A path option or argument that refuses an empty value in one line
    (`empty_path_error`); otherwise click.Path. `what` and `example` complete the
    message: "--frames is empty: give a folder, e.g. --frames frames"."""

    def __init__(self, what: str, example: str, **kwargs):
        super().__init__(**kwargs)
        self.what, self.example = what, example

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value:
            name = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name.strip("[]")
            raise empty_path_error(name, self.what, self.example)
        return super().convert(value, param, ctx)


# The blueprint and the trained weights most commands take, as a file or a NAME.
BLUEPRINT = GivenPath("a blueprint file or a bundled NAME", "tree")
WEIGHTS = GivenPath("a trained structure's NAME or a weights file", "tree")


@contextmanager
def output_folder(path):
    """Make folder `path` and its missing parents for a command's output; if
    the block fails, remove the ones made here (when empty: a failed command
    leaves no folder made for nothing)."""
    from pathlib import Path

    from voxgen.errors import make_dir

    made = [p for p in [Path(path), *Path(path).parents] if not p.exists()][::-1]
    make_dir(path)
    try:
        yield
    except BaseException:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def output_path(text: str, example: str):
    """The -o path as typed, refused in one line when it is empty or ends in
    a path separator (a folder was meant: Path() would drop the slash and
    write a file of that name). `example`: a file name to suggest."""
    from pathlib import Path

    if not text:
        raise empty_path_error("-o", "the output file", example)
    if text.endswith(("/", os.sep)):
        raise VoxgenError(f"-o names a folder (it ends in '/'), not a file: give a file in it, "
                          f"e.g. -o DIR/{example}", text)
    return Path(text)


def load_blueprint(path, **opts):
    """`formats.load(path)` for the commands that read a blueprint (NAMEs are
    resolved before, by `bundled.resolve_blueprint`); a structure spec given
    instead is named as one, with the blueprint it names."""
    from voxgen import formats

    try:
        return formats.load(path, **opts)
    except VoxgenError:
        blueprint = spec_blueprint(path)
        if blueprint is None:
            raise
        raise VoxgenError("is a structure spec for voxgen train, not a blueprint; "
                          f"the blueprint it trains on is {blueprint}", path) from None


def spec_blueprint(path) -> str | None:
    """The blueprint a structure spec (`structures/NAME.toml`) names, as a
    path from here or a bundled NAME; None if `path` is not a spec."""
    from pathlib import Path

    from voxgen.safe_read import read_toml

    path = Path(path)
    if path.suffix != ".toml":
        return None
    try:   # a pipe, a file too large or nested too deep: not a spec (the loader said why)
        blueprint = read_toml(path, what="spec").get("blueprint")
    except VoxgenError:
        return None
    if not isinstance(blueprint, str):
        return None
    if "/" not in blueprint and not blueprint.endswith(".toml"):
        return blueprint
    return os.path.normpath(path.parent / blueprint)


@click.group(cls=LazyGroup)
@click.version_option(package_name="voxgen")
def main():
    """voxgen: grow Minecraft structures with 3D neural cellular automata."""


if __name__ == "__main__":
    main()
