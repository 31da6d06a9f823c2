"""Hostile inputs from the CLI re-audit: deep TOML (B1), FIFOs (N3), SIGHUP
(N8), the out-of-memory line (A7), a structure .nbt voxgen could not read
back (N7). Anything that could hang runs in a subprocess with a timeout."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import types

import click
import numpy as np
import pytest
from click.testing import CliRunner

from voxgen import formats
from voxgen.cli import COMMANDS, main
from voxgen.errors import VoxgenError
from voxgen.formats import nbt_walk
from voxgen.safe_read import BadToml, read_toml
from voxgen.structure import Structure

DEEP_TOML = ('[palette]\n"." = "minecraft:air"\n[layers]\ny0 = "."\n[meta]\n'
             "x = " + "[" * 3000 + "]" * 3000 + "\n")


def _voxgen(*args, cwd=None, timeout=20):
    """Run `voxgen ARGS` in a subprocess: (rc, stderr); a hang fails the test."""
    proc = subprocess.run([sys.executable, "-m", "voxgen", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stderr


def _python(code, timeout=20):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def test_deep_toml_is_one_line_in_the_loader_the_spec_check_and_grow(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text(DEEP_TOML)
    with pytest.raises(VoxgenError, match="TOML nested too deeply") as err:
        read_toml(deep)
    assert not isinstance(err.value, BadToml) and err.value.path == str(deep)
    rc, stderr = _voxgen("info", deep)
    assert rc == 2 and stderr == f"voxgen: error: {deep}: TOML nested too deeply\n"
    from voxgen.grow import resolve_weights     # grow and regen: _toml_keys
    with pytest.raises(VoxgenError, match="TOML nested too deeply"):
        resolve_weights(deep)


def test_a_fifo_is_refused_not_read(tmp_path):
    fifo = tmp_path / "ff.toml"
    os.mkfifo(fifo)
    rc, stderr = _voxgen("info", fifo)
    assert rc == 2 and stderr.count("\n") == 1 and "not a regular file" in stderr, stderr
    rc, out = _python(f"""
        from voxgen.errors import VoxgenError
        from voxgen.physics.trace import load_trace, load_trace_actions
        from voxgen.grow import resolve_weights
        for read in (load_trace, load_trace_actions, resolve_weights):
            try:
                read({str(fifo)!r})
            except VoxgenError as err:
                print(err)
        """, timeout=30)
    assert rc == 0, out
    lines = out.splitlines()
    assert len(lines) == 3 and all("not a regular file" in line for line in lines), out


def test_sighup_removes_temporary_files(tmp_path):
    rc, out = _python(f"""
        import os, signal, sys, time, types
        import click
        from voxgen.atomic_write import atomic_output
        from voxgen.cli import COMMANDS, main

        @click.command()
        def hup():
            with atomic_output({str(tmp_path / "out.bin")!r}) as tmp:
                tmp.write_bytes(b"half")
                os.kill(os.getpid(), signal.SIGHUP)
                time.sleep(10)
        sys.modules["voxgen_test_hup"] = types.SimpleNamespace(hup=hup)
        COMMANDS["hup"] = ("voxgen_test_hup", "test")
        main(["hup"])
        """)
    assert rc == 128 + signal.SIGHUP, out
    assert "voxgen: terminated" in out
    assert os.listdir(tmp_path) == []


def test_out_of_memory_names_the_command_and_its_files(monkeypatch):
    @click.command()
    @click.argument("file")
    @click.option("-o", "--output")
    def oom(file, output):
        raise MemoryError
    monkeypatch.setitem(sys.modules, "voxgen_test_oom", types.SimpleNamespace(oom=oom))
    monkeypatch.setitem(COMMANDS, "oom", ("voxgen_test_oom", "test"))
    result = CliRunner().invoke(main, ["oom", "big.toml", "-o", "big.glb"])
    assert result.exit_code == 2
    assert result.stderr == "voxgen: error: oom big.toml: out of memory\n"


def test_structure_nbt_is_written_only_if_voxgen_reads_it_back(tmp_path, monkeypatch):
    blocks = np.ones((13, 13, 13), dtype=np.int32)          # 2197 cells: the compiled validator
    structure = Structure(blocks, ("minecraft:air", "minecraft:stone"))
    out = tmp_path / "s.nbt"
    monkeypatch.setattr(nbt_walk, "MAX_TAGS", 1000)
    with pytest.raises(VoxgenError, match=r"\.schem or \.litematic") as err:
        formats.save(structure, out)
    assert os.listdir(tmp_path) == []
    tags = int(re.search(r"make (\d+) NBT tags", str(err.value)).group(1))
    monkeypatch.setattr(nbt_walk, "MAX_TAGS", tags)          # exactly the reader's count
    formats.save(structure, out)
    assert (formats.load(out).blocks == blocks).all()
    monkeypatch.setattr(nbt_walk, "MAX_TAGS", tags - 1)
    with pytest.raises(VoxgenError, match="more than"):
        formats.load(out)


def test_nohup_still_ignores_sighup(tmp_path):
    rc, out = _python(f"""
        import os, signal, sys, types
        import click
        from voxgen.cli import COMMANDS, main

        @click.command()
        def hup():
            os.kill(os.getpid(), signal.SIGHUP)
            print("survived")
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        sys.modules["voxgen_test_hup"] = types.SimpleNamespace(hup=hup)
        COMMANDS["hup"] = ("voxgen_test_hup", "test")
        main(["hup"])
        """)
    assert rc == 0 and "survived" in out, out
