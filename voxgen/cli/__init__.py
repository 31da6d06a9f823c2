"""The `voxgen` command line (layer L6, an edge).

Each command lives in its own module under `voxgen/cli/` and is imported only
when invoked, so `voxgen --help` stays instant. A `VoxgenError` becomes one
line on stderr and exit code 2, and so does an OSError (a disk full, a
permission refused: the machine's trouble, not a bug), naming its file.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

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

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
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
        except KeyboardInterrupt:
            click.echo("voxgen: interrupted", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup)
@click.version_option(package_name="voxgen")
def main():
    """voxgen: grow Minecraft structures with 3D neural cellular automata."""


if __name__ == "__main__":
    main()
