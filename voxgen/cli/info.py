"""`voxgen info FILE [--json]`: what a blueprint file holds."""

from __future__ import annotations

import json

import click

from voxgen.cli import BLUEPRINT


def describe(path) -> dict:
    """The facts `info` prints, as a JSON-ready dict.

    Keys: file, format, format_name, version, size [x, y, z], blocks (non-air
    cells; air, cave_air and void_air are air and void is not counted), air,
    void, states (distinct states present), palette (those states), counts
    {state: cells}, data_version, source_data_version (a pre-flattening
    DataVersion the file claims, not believed or its names converted; else
    null), block_entities, entities.
    """
    from voxgen import formats
    from voxgen.cli import load_blueprint

    structure = load_blueprint(path)
    fmt = structure.metadata.get("format", "")
    counts = {s: n for s, n in structure.counts().items() if n}
    void = 0 if structure.void is None else int(structure.void.sum())
    non_air = structure.count_non_air()
    cells = structure.blocks.size
    return {
        "file": str(path),
        "format": fmt,
        "format_name": formats.FORMATS.get(fmt, ("", (), fmt))[2],
        "version": structure.metadata.get("format_version"),
        "size": list(structure.shape),
        "blocks": non_air,
        "air": cells - void - non_air,
        "void": void,
        "states": len(counts),
        "palette": list(counts),
        "counts": counts,
        "data_version": structure.data_version,
        "source_data_version": structure.metadata.get("source_data_version"),
        "block_entities": len(structure.block_entities),
        "entities": len(structure.entities),
    }


@click.command()
@click.argument("file", metavar="FILE|NAME", type=BLUEPRINT)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(file, as_json):
    """Describe a blueprint FILE (or bundled blueprint NAME): format, size,
    block counts and palette."""
    from voxgen.bundled import resolve_blueprint

    facts = describe(resolve_blueprint(file))
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    version = f" v{facts['version']}" if facts["version"] not in (None, 0) else ""
    click.echo(f"{facts['file']}: {facts['format_name']} ({facts['format']}){version}")
    x, y, z = facts["size"]
    click.echo(f"  size          {x} x {y} x {z}")
    click.echo(f"  blocks        {facts['blocks']} non-air, {facts['air']} air, {facts['void']} void")
    click.echo(f"  states        {facts['states']}")
    source = facts["source_data_version"]
    claimed = "" if source is None else f" (the file says {source}, before the 1.13 flattening)"
    click.echo(f"  data version  {facts['data_version']}{claimed}")
    click.echo(f"  block entities {facts['block_entities']}, entities {facts['entities']}")
    click.echo("  palette:")
    for state, n in sorted(facts["counts"].items(), key=lambda kv: (-kv[1], kv[0])):
        click.echo(f"    {n:>9}  {state}")
