"""Hostile weights files, specs and options: each is one VoxgenError line
naming the file, raised before any large allocation or any work is done.

Bad weights are a shipped file (the flying machine) with one thing changed,
written to tmp_path with the safetensors API."""

import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import voxgen.nca.weights as weights_module
from voxgen.cli import main
from voxgen.errors import VoxgenError
from voxgen.grow import load_trained
from voxgen.nca.config import NCAConfig
from voxgen.nca.spec import _BOUNDS, parse_spec

ROOT = Path(__file__).resolve().parent.parent
FLYING = ROOT / "structures" / "flying_machine.safetensors"


def shipped():
    """(tensors, metadata with JSON decoded) of the flying machine."""
    with safe_open(str(FLYING), framework="pt") as f:
        meta = {k: json.loads(v) for k, v in f.metadata().items()}
    return load_file(str(FLYING)), meta


def write(tmp_path, tensors, meta, name="bad.safetensors") -> Path:
    path = tmp_path / name
    save_file(tensors, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})
    return path


def refused(path, message):
    with pytest.raises(VoxgenError) as err:
        load_trained(path)
    assert err.value.path == str(path) and message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def edit_meta(**changes):
    def change(tensors, meta):
        meta.update(changes)
    return change


def edit_config(**changes):
    def change(tensors, meta):
        meta["config"].update(changes)
    return change


def drop_meta(key):
    return lambda tensors, meta: meta.pop(key)


def drop_tensor(key):
    return lambda tensors, meta: tensors.pop(key)


def set_tensor(key, value):
    return lambda tensors, meta: tensors.__setitem__(key, value)


def nan_kernel(tensors, meta):
    tensors["model.fc_in"][0, 0, 0] = math.nan


@pytest.mark.parametrize("change, message", [
    (drop_meta("config"), "no 'config'"),
    (drop_meta("palette"), "no 'palette'"),
    (drop_meta("name"), "no 'name'"),
    (drop_meta("seed_pos"), "no 'seed_pos'"),
    (drop_tensor("target.classes"), "no 'target.classes'"),
    (drop_tensor("model.kernel"), "no 'model.kernel'"),
    (set_tensor("model.extra", torch.zeros(5)), "unexpected tensor 'model.extra'"),
    (set_tensor("stray", torch.zeros(5)), "unexpected tensor 'stray'"),
    (set_tensor("model.kernel", torch.zeros(5, 5)), "'model.kernel' is"),
    (nan_kernel, "not finite"),
    (edit_meta(palette="abc"), "'palette' must be a list"),
    (edit_meta(palette=math.nan), "'palette' must be a list"),
    (edit_meta(palette=["minecraft:air", 'Bad State"\n[x', "c", "d", "e", "f"]), "not a canonical block state"),
    (edit_meta(palette=["minecraft:stone"] * 6), "start with minecraft:air"),
    (edit_meta(seed_pos=[100, 100, 100]), "outside the grid"),
    (edit_meta(seed_pos=[-1, 0, 0]), "outside the grid"),
    (edit_meta(seed_pos="abc"), "'seed_pos' must be"),
    (edit_meta(config="abc"), "'config' must be a table"),
    (edit_meta(name=5), "not a plain structure name"),
    (edit_meta(name="../escaped/evil"), "not a plain structure name"),
    (edit_meta(name="evil\u202egpj.png"), "not a plain structure name"),      # a bidi override
    (edit_meta(name="evil\x9bname"), "not a plain structure name"),           # a C1 control
    (edit_meta(name="/tmp/abs"), "not a plain structure name"),
    (edit_meta(name="a\x1b[31mb"), "not a plain structure name"),
    (edit_config(steps="x"), "config key 'steps'"),
    (edit_config(steps=[1, 10 ** 9]), "config key 'steps'"),
    (edit_config(steps=[-5, -3]), "config key 'steps' must be a list of integers each in [1, 10000]"),
    (edit_config(steps=[0, 0]), "config key 'steps' must be a list of integers each in [1, 10000]"),
    (edit_config(pool_size=0), "config key 'pool_size' must be a positive integer"),
    (edit_config(alive_threshold="x"), "config key 'alive_threshold'"),
    (edit_config(fire_rate=0), "config key 'fire_rate'"),
    (edit_config(margin=-5), "config key 'margin'"),
    (edit_config(perception="bogus"), "config key 'perception'"),
    (edit_config(hidden_channels=10 ** 6), "'hidden_channels' must be an integer in [0, 1024]"),
    (edit_config(mlp_width=10 ** 6), "'mlp_width' must be an integer in [1, 4096]"),
    (edit_config(hidden_channels=20), "the config and palette give"),
    (edit_config(margin=3), "no wider than its margins"),
])
def test_a_bad_weights_file_is_one_line_naming_it(tmp_path, change, message):
    tensors, meta = shipped()
    change(tensors, meta)
    refused(write(tmp_path, tensors, meta), message)


@pytest.mark.parametrize("classes, message", [
    (torch.full((4, 3, 6), 99, dtype=torch.int32), "outside the palette"),
    (torch.full((4, 3, 6), -1, dtype=torch.int32), "outside the palette"),
    (torch.zeros(4, 3, dtype=torch.int32), "3-D integers"),
    (torch.zeros(4, 3, 6), "3-D integers"),
    (torch.zeros(0, 3, 6, dtype=torch.int32), "no wider than its margins"),
])
def test_target_classes_must_be_a_grid_in_the_palette(tmp_path, classes, message):
    tensors, meta = shipped()
    tensors["target.classes"] = classes
    meta.pop("grid_shape")
    refused(write(tmp_path, tensors, meta), message)


def test_unknown_config_keys_in_weights_are_left_out(tmp_path):
    tensors, meta = shipped()
    meta["config"]["retired_setting"] = 3
    assert load_trained(write(tmp_path, tensors, meta)).name == "flying_machine"


def test_grow_and_regen_of_bad_weights_print_one_line(tmp_path):
    tensors, meta = shipped()
    meta["seed_pos"] = [100, 100, 100]
    path = write(tmp_path, tensors, meta)
    for command in (["grow", str(path)], ["regen", str(path), "--trials", "1"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert result.output.count("\n") == 1 and str(path) in result.output


def test_train_init_with_bad_weights_names_them(tmp_path):
    tensors, meta = shipped()
    del meta["config"]
    path = write(tmp_path, tensors, meta)
    result = CliRunner().invoke(main, ["train", "flying_machine", "--init", str(path), "--out",
                                       str(tmp_path / "run"), "--weights", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 2 and f"{path}: bad weights file: no 'config'" in result.output


def test_regen_render_names_files_inside_the_folder():
    from voxgen.cli.regen import file_stem
    assert file_stem("../escaped/evil") == "evil"
    assert file_stem("/tmp/abs") == "abs"
    assert file_stem("a\nb\x1b") == "ab"
    assert file_stem("..") == "structure"


def test_train_refuses_an_unwritable_weights_path_before_training(tmp_path):
    (tmp_path / "afile").write_text("")
    for weights, message in [(tmp_path / "nodir" / "w.safetensors", "does not exist"),
                             (tmp_path / "afile" / "w.safetensors", "is not a folder"),
                             (tmp_path / "w.txt", "ending in .safetensors")]:
        result = CliRunner().invoke(main, ["train", "flying_machine", "--out", str(tmp_path / "run"),
                                           "--weights", str(weights)])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "run").exists()          # refused before the run folder, before training


def test_a_failed_save_names_the_users_path(tmp_path, monkeypatch):
    from voxgen.nca import weights
    trained = load_trained(FLYING)
    target = tmp_path / "w.safetensors"

    def refuse(tensors, filename, metadata=None):
        raise weights.SafetensorError(f"Error while serializing: I/O error at path {filename!r}")
    monkeypatch.setattr(weights, "save_file", refuse)
    with pytest.raises(VoxgenError) as err:
        weights.save_weights(target, trained.model, trained.target.blocks, "w", trained.palette,
                             trained.seed_pos, {})
    assert err.value.path == str(target) and ".tmp" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("line, message", [
    ("torch_seed = 99999999999999999999", "'torch_seed' must be an integer in [0, 9223372036854775807]"),
    ("lr = inf", "'lr' must be a finite number"),
    ("lr = nan", "'lr' must be a finite number"),
    ("class_weight_power = 1e308", "'class_weight_power' must be a number in [0.0, 4.0]"),
    ("alive_threshold = nan", "'alive_threshold' must be a finite number"),
    ("alive_threshold = -1.0", "'alive_threshold' must be a number in"),
    ("dropout_rate = 5.0", "'dropout_rate' must be a number in [0.0, 1.0]"),
    ("halfcut_range = [5.0, -1.0]", "'halfcut_range' must be a list of numbers each in [0.0, 1.0]"),
    ("halfcut_range = [0.7, 0.3]", "[lo, hi] with lo <= hi"),
    ("sphere_radius = [-1.0, 100.0]", "'sphere_radius' must be a list of numbers each in"),
    ("lr_final = -5.0", "'lr_final' must be a number in"),
    ("reseed = 100", "'reseed' (100) is more than 'batch' (8)"),
    ("damage_count = 100", "'damage_count' (100) is more than 'batch' (8)"),
    ("verify_needed = 0", "'verify_needed' must be at least 1"),
    ("steps = [1, 1000000000]", "'steps' must be a list of integers each in [1, 10000]"),
    ("steps = [-10, -5]", "'steps' must be a list of integers each in [1, 10000]"),
    ("steps = [0, 0]", "'steps' must be a list of integers each in [1, 10000]"),
    ("steps = [-3, 2]", "'steps' must be a list of integers each in [1, 10000]"),
    ("batch = 0", "'batch' must be a positive integer"),
    ("pool_size = 0", "'pool_size' must be a positive integer"),
    ("iterations = 0", "'iterations' must be at least 1"),
    ("halfcut_axes = []", "'halfcut_axes' is empty"),
    ("hard_weight = 1e300", "'hard_weight' must be a number in"),
    ("iterations = 99999999999999999999", "'iterations' must be an integer in"),
])
def test_spec_values_out_of_bounds_are_refused(tmp_path, line, message):
    spec = tmp_path / "s.toml"
    spec.write_text(f'blueprint = "flying_machine"\n{line}\n')
    with pytest.raises(VoxgenError) as err:
        parse_spec(spec)
    assert err.value.path == str(spec) and message in str(err.value), str(err.value)


def test_the_memory_check_counts_parameters():
    from voxgen.nca.config import NCAConfig
    from voxgen.train_memory import memory_needed
    wide = NCAConfig(mlp_width=100_000, mlp_layers=3)
    assert memory_needed(wide, 5, (4, 3, 6)) > 8 * 4 * 2 * 100_000 ** 2


def test_train_of_a_blueprint_without_blocks_names_it(tmp_path):
    blueprint = tmp_path / "air.toml"
    blueprint.write_text('[palette]\n"." = "minecraft:air"\n[layers]\ny0 = """\n..\n"""\n')
    spec = tmp_path / "s.toml"
    spec.write_text('blueprint = "air.toml"\n')
    result = CliRunner().invoke(main, ["train", str(spec), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and f"{blueprint}: blueprint has no blocks to grow" in result.output


@pytest.mark.parametrize("args", [
    ["grow", "flying_machine", "--seed", "99999999999999999999999"],
    ["grow", "flying_machine", "--seed", "-1"],
    ["regen", "flying_machine", "--seed", "99999999999999999999999", "--trials", "1"],
    ["regen", "flying_machine", "--seed", "-1", "--trials", "1"],
])
def test_seeds_out_of_range_are_usage_errors(args):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "--seed" in result.output and "Traceback" not in result.output


def test_regen_refuses_trials_beyond_memory():
    result = CliRunner().invoke(main, ["regen", "flying_machine", "--trials", "100000000"])
    assert result.exit_code == 2 and "100000000 regeneration trials" in result.output
    assert result.output.count("\n") == 1


def test_grow_checks_out_before_growing_or_writing_frames(tmp_path):
    frames = tmp_path / "frames"
    result = CliRunner().invoke(main, ["grow", "flying_machine", "--frames", str(frames),
                                       "--out", str(tmp_path / "nodir" / "g.schem")])
    assert result.exit_code == 2 and "does not exist" in result.output
    assert not frames.exists()
    (tmp_path / "afile").write_text("")
    result = CliRunner().invoke(main, ["grow", "flying_machine", "--out", str(tmp_path / "afile" / "g.schem")])
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_resume_from_another_structures_checkpoint_says_so(tmp_path):
    run = tmp_path / "run"
    args = ["--iterations", "1", "--threads", "1", "--device", "cpu", "--out", str(run)]
    result = CliRunner().invoke(main, ["train", "flying_machine", *args, "--weights", str(tmp_path / "f.safetensors")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["train", "caterpillar", "--resume", *args,
                                       "--weights", str(tmp_path / "c.safetensors")])
    assert result.exit_code == 2 and "this checkpoint is for another structure (flying_machine" in result.output
    assert str(run / "checkpoint.safetensors") in result.output and not (tmp_path / "c.safetensors").exists()


def test_saving_into_a_missing_folder_names_the_users_path(tmp_path):
    from voxgen.nca.weights import save_weights
    trained = load_trained(FLYING)
    target = tmp_path / "nodir" / "w.safetensors"
    with pytest.raises(VoxgenError) as err:
        save_weights(target, trained.model, trained.target.blocks, "w", trained.palette, trained.seed_pos, {})
    assert err.value.path == str(target)


INTEGER_KEYS = [k for k, v in NCAConfig().to_dict().items() if isinstance(v, int) and not isinstance(v, bool)]


@pytest.mark.parametrize("key", INTEGER_KEYS)
def test_every_integer_key_refuses_a_value_below_its_range(tmp_path, key):
    """The lower bound of each integer key holds for specs and weights alike
    (no value below it left for a later check that might not come)."""
    low = _BOUNDS[key][0] - 1
    spec = tmp_path / "s.toml"
    spec.write_text(f'blueprint = "flying_machine"\n{key} = {low}\n')
    with pytest.raises(VoxgenError, match=f"key '{key}' must be"):
        parse_spec(spec)
    tensors, meta = shipped()
    meta["config"][key] = low
    refused(write(tmp_path, tensors, meta), f"config key '{key}' must be")


def test_train_of_negative_steps_writes_nothing(tmp_path):
    spec = tmp_path / "neg.toml"
    spec.write_text('blueprint = "caterpillar"\nsteps = [-10, -5]\niterations = 3\n')
    result = CliRunner().invoke(main, ["train", str(spec), "--threads", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert f"{spec}: key 'steps' must be a list of integers each in [1, 10000], got [-10, -5]" in result.output
    assert not (tmp_path / "neg.safetensors").exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2", "float16", "bfloat16", "float64"])
def test_model_tensors_of_another_dtype_are_refused(tmp_path, dtype):
    tensors, meta = shipped()
    tensors = {k: v.to(getattr(torch, dtype)) if k.startswith("model.") else v for k, v in tensors.items()}
    path = write(tmp_path, tensors, meta)
    refused(path, f"bad weights file: 'model.fc_in' is torch.{dtype}, voxgen writes it as torch.float32")
    result = CliRunner().invoke(main, ["grow", str(path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and str(path) in result.output
    result = CliRunner().invoke(main, ["train", "flying_machine", "--init", str(path), "--iterations", "1",
                                       "--out", str(tmp_path / "run"), "--weights", str(tmp_path / "w.safetensors")])
    assert result.exit_code == 2 and f"{path}: bad weights file: 'model.fc_in' is torch.{dtype}" in result.output
    assert not (tmp_path / "w.safetensors").exists()


def test_an_edited_fixed_perception_kernel_is_refused(tmp_path):
    """Fixed perception's kernel is stored but not trained: the CPU's numba
    kernels apply the fixed filters themselves and torch's path (a GPU's)
    the stored ones, so an edited one would grow differently on each."""
    tensors, meta = shipped()
    tensors.pop("model.kernel")                      # the flying machine's is learned: make it a fixed one
    meta["config"]["perception"], meta["config"]["perception_filters"] = "fixed", 4
    from voxgen.nca.model import perception_kernels
    channels = tensors["model.fc_in"].shape[1]
    tensors["model.kernel"] = perception_kernels().expand(channels, 4, 27).contiguous()
    assert load_trained(write(tmp_path, tensors, meta, "fixed.safetensors")).config.perception == "fixed"
    tensors["model.kernel"] = tensors["model.kernel"] * 3
    refused(write(tmp_path, tensors, meta), "'model.kernel' is not the fixed perception's filters")


# --- the header, checked before any tensor is read -------------------------------

def with_header(tmp_path, entries: dict, metadata: dict | None = None, data: bytes = b"",
                data_size: int | None = None, name="bad.safetensors") -> Path:
    """A file of safetensors' layout by hand: the header's `entries` (name ->
    dtype, shape, data_offsets) and `metadata` (the flying machine's when
    None), then `data`, stretched (sparse) to `data_size` bytes if given."""
    if metadata is None:
        metadata = {k: json.dumps(v) for k, v in shipped()[1].items()}
    text = json.dumps({"__metadata__": metadata, **entries}).encode()
    path = tmp_path / name
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + data)
        if data_size is not None:
            f.truncate(8 + len(text) + data_size)
    return path


def no_tensor_read(monkeypatch):
    def load_file(path):
        raise AssertionError("a tensor was read")
    monkeypatch.setattr(weights_module, "load_file", load_file)


@pytest.mark.parametrize("shape", [[2 ** 64 - 1, 0], [0, 2 ** 63], [-1, 0], [1.5], "big", [[1]],
                                   [0, 2 ** 47, 2 ** 47, 2 ** 47]])
def test_a_shape_that_is_no_list_of_counts_is_one_line(tmp_path, shape):
    path = with_header(tmp_path, {"x": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}})
    refused(path, "not a voxgen weights file (tensor 'x': its shape or place in the file is not a list of counts)")
    result = CliRunner().invoke(main, ["grow", str(path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_a_tensor_larger_than_its_place_in_the_file_is_refused(tmp_path):
    path = with_header(tmp_path, {"x": {"dtype": "F32", "shape": [2 ** 20, 2 ** 20, 4], "data_offsets": [0, 0]}})
    refused(path, "tensor 'x' of shape [1048576, 1048576, 4] does not fit its place in the file")
    path = with_header(tmp_path, {"x": {"dtype": "F32", "shape": [2 ** 32, 2 ** 32, 4], "data_offsets": [0, 0]}})
    refused(path, "tensor 'x': its shape or place in the file is not a list of counts")


def test_a_huge_grid_is_refused_from_the_header_without_reading_it(tmp_path, monkeypatch):
    """A sparse 2 GB file whose target grid, 800^3 cells, and grid_shape
    agree: refused by its header, no tensor read (it was read whole first,
    4.5 GB of memory and 14 s, before the refusal)."""
    tensors, meta = shipped()
    meta["grid_shape"] = [800, 800, 800]
    offsets, entries = 0, {}
    for key, t in tensors.items():
        shape, dtype = ([800, 800, 800], "I32") if key == "target.classes" else (list(t.shape), "F32")
        size = 4 * math.prod(shape)
        entries[key] = {"dtype": dtype, "shape": shape, "data_offsets": [offsets, offsets + size]}
        offsets += size
    path = with_header(tmp_path, entries, {k: json.dumps(v) for k, v in meta.items()}, data_size=offsets)
    no_tensor_read(monkeypatch)
    refused(path, "bad weights file: the grid [800, 800, 800] has more than 67,108,864 cells, the most voxgen takes")


def test_tensors_larger_than_the_memory_are_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "fm.safetensors"
    path.write_bytes(FLYING.read_bytes())
    monkeypatch.setattr(weights_module, "memory_available", lambda device: 1000)
    no_tensor_read(monkeypatch)
    refused(path, "its tensors take 0.0 GiB, more than the 0.0 GiB of memory here")


def test_many_tensors_are_refused_by_count(tmp_path, monkeypatch):
    entries = {f"x{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(5000)}
    no_tensor_read(monkeypatch)
    refused(with_header(tmp_path, entries), "5000 tensors; voxgen writes at most 4096")


def test_a_pickle_or_a_torch_save_file_is_named_as_one(tmp_path):
    import pickle
    path = tmp_path / "pickled.safetensors"
    path.write_bytes(pickle.dumps({"model": [1.0] * 100}))
    refused(path, "a pickle, not safetensors: voxgen never unpickles")
    path = tmp_path / "saved.safetensors"
    torch.save({"w": torch.zeros(3)}, str(path))
    refused(path, "a zip file (torch.save?), not safetensors: voxgen never unpickles")


@pytest.mark.parametrize("raw, message", [
    (b"\x05\x00\x00\x00\x00\x00\x00\x00{", "truncated in its header"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "its header is not a JSON object"),
    (b"\x02\x00\x00\x00\x00\x00\x00\x00\xff\xfe", "its header is not JSON"),
    (b"\x01\x00", "truncated: no header"),
])
def test_a_broken_header_is_one_line(tmp_path, raw, message):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(raw)
    refused(path, f"not a voxgen weights file ({message})")


def test_metadata_that_is_not_json_is_named_by_its_key(tmp_path):
    metadata = {k: json.dumps(v) for k, v in shipped()[1].items()}
    metadata["record"] = "{not json"
    refused(with_header(tmp_path, {}, metadata), "its metadata 'record' is not JSON")


@pytest.mark.parametrize("dtype", [["F32"], {"F32": 1}, None])
def test_a_dtype_that_is_no_name_is_one_line(tmp_path, dtype):
    path = with_header(tmp_path, {"x": {"dtype": dtype, "shape": [1], "data_offsets": [0, 4]}}, data=b"\0" * 4)
    refused(path, "tensor 'x' is of a dtype voxgen never writes")


def test_a_metadata_key_is_quoted_in_the_one_line(tmp_path):
    metadata = {k: json.dumps(v) for k, v in shipped()[1].items()}
    metadata["evil\nvoxgen: ok"] = "{not json"
    refused(with_header(tmp_path, {}, metadata), "its metadata 'evil\\nvoxgen: ok' is not JSON")


def test_a_dtype_safetensors_knows_but_voxgen_never_writes_is_refused_by_name(tmp_path):
    path = with_header(tmp_path, {"x": {"dtype": "F8_E8M0", "shape": [1], "data_offsets": [0, 1]}}, data=b"\0")
    refused(path, "tensor 'x' is of a dtype voxgen never writes (F8_E8M0)")
