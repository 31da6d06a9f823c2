"""Decide a file's format from its bytes, not its name.

Text: `{` first -> structure SNBT; TOML with [palette]/[layers] -> voxgen text.
Binary: gzip/zlib or raw NBT; the names of the root compound's tags decide
(a v3 Sponge root "" holding `Schematic` is looked into):

    Version + BlockData | Blocks | Palette       -> sponge
    Materials + Blocks                            -> legacy
    size + blocks + palette | palettes            -> structure
    Regions + MinecraftDataVersion | Version      -> litematic
    little-endian, format_version + structure     -> mcstructure

The walk reads tag headers only, skips values by their lengths, and stops as
soon as a rule matches; the decompressed bytes stay cached in nbt_io for the
loader.
"""

from __future__ import annotations

from voxgen.errors import VoxgenError
from voxgen.formats import nbt_io, nbt_walk
from voxgen.formats.nbt_walk import Truncated as _Truncated, byte as _byte, skip as _skip, u16 as _u16
from voxgen.safe_read import open_regular

NOT_READABLE = "not a blueprint file voxgen can read"
# the first byte of NBT: a raw compound tag, gzip, zlib
NBT_FIRST_BYTES = (b"\x0a", b"\x1f", b"\x78")


def looks_like_nbt(head: bytes) -> bool:
    """Whether a file's first two bytes could begin NBT: a raw compound
    tag, gzip's first byte, or a zlib header (its check bits right and no preset
    dictionary: text such as "x = 1" begins with b"x", as zlib does)."""
    if head[:1] == b"\x78" and len(head) >= 2:
        return (head[0] << 8 | head[1]) % 31 == 0 and not head[1] & 0x20
    return head[:1] in NBT_FIRST_BYTES


def sniff_format(path) -> str:
    with open_regular(path) as f:
        head = f.read(4096)
    if not head:
        raise VoxgenError("file is empty", path)
    stripped = head.lstrip()
    if stripped.startswith(b"{"):
        return "snbt"
    if b"[palette]" in head or b"[layers]" in head:
        return "toml"
    if not looks_like_nbt(head):
        raise VoxgenError(NOT_READABLE, path)
    data, _ = nbt_io.read_bytes(path)
    if data[:1] != b"\x0a":
        raise VoxgenError(f"{NOT_READABLE} (the data is not NBT with a compound root)", path)
    errors = []
    for order, rules in ((">", _java_format), ("<", _bedrock_format)):
        try:
            if len(data) >= nbt_walk.COMPILED_MIN_BYTES:  # a hostile payload is refused fast
                nbt_walk.validate(data, "big" if order == ">" else "little")
            fmt = _classify(data, order, rules)
        except (_Truncated, ValueError) as err:
            errors.append(err)
            continue
        if fmt:
            return fmt
    too_large = [e for e in errors if isinstance(e, nbt_walk.TooLarge)]
    if too_large:  # (read in the other byte order, such data can look valid)
        raise VoxgenError(f"{too_large[0]}, more than voxgen loads", path)
    if len(errors) == 2:
        raise VoxgenError("corrupt or truncated NBT", path)
    raise VoxgenError(NOT_READABLE, path)


def _java_format(keys: dict, inner: dict | None) -> str | None:
    if inner is not None and _is_sponge(inner):
        return "sponge"
    if _is_sponge(keys):
        return "sponge"
    if "Materials" in keys and keys.get("Blocks") == 7:
        return "legacy"
    if "size" in keys and "blocks" in keys and ("palette" in keys or "palettes" in keys):
        return "structure"
    if "Regions" in keys and ("MinecraftDataVersion" in keys or "Version" in keys):
        return "litematic"
    return None


def _is_sponge(keys: dict) -> bool:
    return "Version" in keys and ("BlockData" in keys or "Blocks" in keys or "Palette" in keys) \
        and "Materials" not in keys and "Regions" not in keys


def _bedrock_format(keys: dict, inner: dict | None) -> str | None:
    if "format_version" in keys and "structure" in keys:
        return "mcstructure"
    return None


def _classify(data: bytes, order: str, rules) -> str | None:
    """Walk the root compound's tag headers in byte `order` until `rules`
    (keys -> format or None) names a format; None if none matched."""
    pos = 3 + _u16(data, 1, order)            # root tag type, name
    keys: dict[str, int] = {}
    inner = None
    while True:
        tag = _byte(data, pos)
        if tag == 0:
            return rules(keys, inner)
        name_len = _u16(data, pos + 1, order)
        name = data[pos + 3:pos + 3 + name_len].decode("utf-8", "replace")
        pos += 3 + name_len
        keys[name] = tag
        fmt = rules(keys, inner)  # before skipping the value: it may be a long list
        if fmt:
            return fmt
        if name == "Schematic" and tag == 10 and inner is None:
            inner = {}
            pos = _walk_names(data, pos, order, inner, rules, keys)
            if pos is None:
                return rules(keys, inner)
        else:
            pos = _skip(data, pos, tag, order, 0)
        fmt = rules(keys, inner)
        if fmt:
            return fmt


def _walk_names(data, pos, order, inner, rules, keys) -> int | None:
    """Record the tag names of a compound payload at `pos`; return its end,
    or None as soon as `rules` name a format (the caller stops there)."""
    while True:
        tag = _byte(data, pos)
        if tag == 0:
            return pos + 1
        name_len = _u16(data, pos + 1, order)
        inner[data[pos + 3:pos + 3 + name_len].decode("utf-8", "replace")] = tag
        # Decided before skipping the value, as in `_classify`: a Sponge v3
        # file decides on `Blocks`, whose block entities took 0.8 s to skip
        # in the 256^3 sample written as v3. Only for payloads the compiled
        # validator has passed: a smaller one is walked to the end of this
        # compound first, so that truncated data is refused here.
        if len(data) >= nbt_walk.COMPILED_MIN_BYTES and rules(keys, inner):
            return None
        pos = _skip(data, pos + 3 + name_len, tag, order, 1)
