"""Large real files through the non-NCA commands' hot steps, each against a
reference measured in the same run, in alternation (best of --repeat).

    obj text      export's .obj writer   vs  np.savetxt (the twin in tests/test_review_perf.py)
    face count    mesh.count_faces       vs  the strided per-axis comparison it replaced
    sniff v3      sniff_format           vs  walking the whole payload in Python (what it did)
    draw load     load(block_entities=False), as render/export/view load  vs  a full load

On the 256^3 sample (samples/schematics/schem/large_schematic.schem, 42k block
entities) when ../shared/samples is there, else on a synthetic 128^3 one.

    .venv/bin/python bench/large_files.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from test_review_perf import obj_text_twin, random_structure  # noqa: E402

from voxgen import formats  # noqa: E402
from voxgen.formats import nbt_io, nbt_walk, sponge  # noqa: E402
from voxgen.render import export as export_mod  # noqa: E402
from voxgen.render.mesh import build_mesh, count_faces, filled_mask  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "samples" / "schematics" / "schem" / "large_schematic.schem"


def count_faces_strided(filled: np.ndarray) -> int:
    """The face count before the review, verbatim: both neighbours compared
    along each axis through np.moveaxis views into a preallocated buffer
    (writing a strided view was what made it slow)."""
    total = 0
    for axis in range(3):
        f = np.moveaxis(filled, axis, 0)
        total += int(np.count_nonzero(f[0])) + int(np.count_nonzero(f[-1]))
        buffer = np.empty(f[1:].shape, dtype=bool)
        np.logical_not(f[1:], out=buffer)
        np.logical_and(f[:-1], buffer, out=buffer)
        total += int(np.count_nonzero(buffer))
        np.logical_not(f[:-1], out=buffer)
        np.logical_and(f[1:], buffer, out=buffer)
        total += int(np.count_nonzero(buffer))
    return total


def whole_walk(path) -> None:
    data, _ = nbt_io.read_bytes(path)
    nbt_walk.skip(data, 3 + int.from_bytes(data[1:3], "big"), 10, ">", 0)


def alternate(new, reference, repeat: int) -> tuple[float, float]:
    """Best seconds of `new` and of `reference`, run in turn."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for i, fn in enumerate((new, reference)):
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    tmp = Path(tempfile.mkdtemp())
    if SAMPLE.is_file():
        source = SAMPLE
    else:
        source = tmp / "synthetic.schem"
        sponge.save(random_structure((128, 128, 128), fill=0.05, chests=20000), source, version=2)
    structure = formats.load(source)
    v3 = tmp / "v3.schem"
    sponge.save(structure, v3, version=3)                      # as `voxgen convert` writes it
    mesh = build_mesh(structure)
    filled = filled_mask(structure)
    sniff = importlib.import_module("voxgen.formats.sniff").sniff_format
    print(f"{source.name}: {'x'.join(map(str, structure.shape))}, {mesh.n_faces:,} faces, "
          f"{len(structure.block_entities):,} block entities; best of {repeat}, alternating\n")

    def fresh_load(**opts):
        nbt_io._LAST_READ.clear()                              # decompress again, as a new process would
        return formats.load(source, **opts)

    rows = [
        ("obj text", lambda: export_mod._save_obj(mesh, tmp / "m.obj"),
         lambda: obj_text_twin(mesh, "m.mtl")),
        ("face count", lambda: count_faces(filled), lambda: count_faces_strided(filled)),
        ("sniff v3", lambda: sniff(v3), lambda: whole_walk(v3)),
        ("draw load", lambda: fresh_load(block_entities=False), fresh_load),
    ]
    assert count_faces(filled) == count_faces_strided(filled) == mesh.n_faces
    export_mod._save_obj(mesh, tmp / "m.obj")
    assert (tmp / "m.obj").read_text() == obj_text_twin(mesh, "m.mtl")
    print(f"{'step':12s} {'voxgen s':>10s} {'reference s':>12s} {'ratio':>7s}")
    for name, new, reference in rows:
        a, b = alternate(new, reference, repeat)
        print(f"{name:12s} {a:10.3f} {b:12.3f} {b / a:6.1f}x")


if __name__ == "__main__":
    main()
