"""``llie_core.workbook.enhance``: own images through a trained checkpoint or a baseline, folders and files, tiling of
large images, clear errors for unreadable inputs and bad checkpoints, the command line."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from data_prep.image_io import read_image
from llie_core.evaluation.loop import as_enhancer
from llie_core.evaluation.tiling import TileConfig
from llie_core.models import build_model
from llie_core.training import trained as T
from llie_core.training.recipes import load_method_config
from llie_core.workbook import enhance as E
from tests.helpers import skip_or_fail


def _write(path, size=(40, 30), seed=0):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 90, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def frlie_checkpoint(tmp_path_factory):
    """A tiny trained-looking FRLIE (smoke config) saved as an engine checkpoint inside a run folder."""
    torch.manual_seed(0)
    model = build_model(dict(load_method_config("frlie", "smoke")["model"]))
    run = tmp_path_factory.mktemp("run") / "frlie"
    path = run / "stage2" / "checkpoints" / "best.pt"
    path.parent.mkdir(parents=True)
    torch.save({"model": model.state_dict(), "iteration": 6}, path)
    return run, path, model.eval()


def test_checkpoint_output_equals_the_model_and_keeps_sizes(tmp_path, frlie_checkpoint):
    run, path, model = frlie_checkpoint
    inputs = [_write(tmp_path / "in" / "b.png", (37, 29)), _write(tmp_path / "in" / "a.jpg", (40, 30), seed=1)]
    report = E.enhance_images(inputs, tmp_path / "out", "frlie", path, profile="smoke", progress=False)
    assert [p.name for p in report.written] == ["b.png", "a.png"] and not report.failed
    for src, out in zip(inputs, report.written):
        assert read_image(out).shape == read_image(src).shape  # odd sizes too (padding cropped back)
    low = torch.from_numpy(read_image(inputs[0]))[None]
    with torch.no_grad():
        expected = as_enhancer(model, "frlie", 4)(low)[0].numpy()
    np.testing.assert_allclose(read_image(report.written[0]), expected, atol=1 / 255 + 1e-6)


def test_run_folder_and_bare_state_dict_load_the_same_weights(tmp_path, frlie_checkpoint):
    run, path, model = frlie_checkpoint
    bare = tmp_path / "bare.pth"
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, bare)
    src = _write(tmp_path / "x.png")
    a = E.enhance_images([src], tmp_path / "a", "frlie", run, profile="smoke", progress=False).written[0]
    b = E.enhance_images([src], tmp_path / "b", "frlie", bare, profile="smoke", progress=False).written[0]
    assert a.read_bytes() == b.read_bytes()


def test_folder_inputs_in_natural_order_with_colliding_stems(tmp_path):
    folder = tmp_path / "photos"
    for name in ("img10.png", "img2.png", "img1.png", "img2.jpg", "notes.txt"):
        (_write(folder / name) if name.endswith(("png", "jpg")) else (folder / name).write_text("x"))
    files = E.collect_inputs([folder])
    assert [f.name for f in files] == ["img1.png", "img2.jpg", "img2.png", "img10.png"]
    assert E.output_names(files) == ["img1.png", "img2_jpg.png", "img2_png.png", "img10.png"]
    report = E.enhance_images([folder], tmp_path / "out", "he", progress=False)
    assert sorted(p.name for p in report.written) == sorted(E.output_names(files))


def test_corrupt_file_in_a_folder_is_named(tmp_path):
    folder = tmp_path / "mixed"
    _write(folder / "good.png")
    (folder / "zz_broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    with pytest.raises(E.EnhanceError, match="zz_broken.png"):
        E.enhance_images([folder], tmp_path / "out", "he", progress=False)
    report = E.enhance_images([folder], tmp_path / "out2", "he", skip_errors=True, progress=False)
    assert [p.name for p in report.written] == ["good.png"]
    assert [p.name for p in report.failed] == ["zz_broken.png"] and "cannot decode" in next(iter(report.failed.values()))


def test_large_image_is_tiled_and_keeps_its_size(tmp_path):
    src = _write(tmp_path / "big.png", (300, 170))
    calls = []

    def gain(x):
        calls.append(tuple(x.shape[-2:]))
        return (x * 1.5).clamp(0, 1)

    enhancer = as_enhancer(gain, "gain", pad_multiple=4)
    report = E.enhance_images([src], tmp_path / "out", enhancer=enhancer, tile=TileConfig(128, 16), progress=False)
    out = read_image(report.written[0])
    assert out.shape == (3, 170, 300)
    assert len(calls) > 1 and max(h for h, _ in calls) <= 128 and max(w for _, w in calls) <= 128
    np.testing.assert_allclose(out, np.clip(read_image(src) * 1.5, 0, 1), atol=1 / 255 + 1e-5)  # pointwise: exact


def test_without_a_checkpoint_the_shipped_model_is_used(tmp_path, frlie_checkpoint, monkeypatch):
    """A trained method without --checkpoint enhances with the model shipped in checkpoints/quick/<method>."""
    run, path, model = frlie_checkpoint
    shipped = tmp_path / "checkpoints"
    (shipped / "frlie" / "stage2" / "checkpoints").mkdir(parents=True)
    torch.save({"model": {k: v.half() for k, v in model.state_dict().items()}},
               shipped / "frlie" / "stage2" / "checkpoints" / "best.pt")
    (shipped / "frlie" / T.RECIPE).write_text(json.dumps({"method": "frlie", "profile": "smoke", "variant": None}))
    monkeypatch.setattr(E, "shipped_runs_dir", lambda profile: shipped)
    src = _write(tmp_path / "x.png")
    out = E.enhance_images([src], tmp_path / "o", "frlie", progress=False).written[0]
    low = torch.from_numpy(read_image(src))[None]
    with torch.no_grad():
        expected = as_enhancer(model, "frlie", 4)(low)[0].numpy()
    np.testing.assert_allclose(read_image(out), expected, atol=2 / 255)  # fp16 storage


def test_clear_errors_for_bad_requests(tmp_path, frlie_checkpoint, capsys, monkeypatch):
    run, path, _ = frlie_checkpoint
    src = _write(tmp_path / "x.png")
    monkeypatch.setattr(E, "shipped_runs_dir", lambda profile: tmp_path / "nothing_shipped")
    with pytest.raises(E.EnhanceError, match="needs --checkpoint.*no shipped model"):
        E.enhance_images([src], tmp_path / "o", "frlie", profile="smoke")
    with pytest.raises(E.EnhanceError, match="takes no --checkpoint"):
        E.enhance_images([src], tmp_path / "o", "lime", path)
    with pytest.raises(E.EnhanceError, match="unknown method"):
        E.enhance_images([src], tmp_path / "o", "retinexnet")
    with pytest.raises(E.EnhanceError, match="no such file or folder"):
        E.enhance_images([tmp_path / "missing.png"], tmp_path / "o", "he")
    with pytest.raises(E.EnhanceError, match="no images"):
        (tmp_path / "empty").mkdir()
        E.enhance_images([tmp_path / "empty"], tmp_path / "o", "he")
    with pytest.raises(E.EnhanceError, match="does not fit frlie"):  # smoke weights, paper-width config mismatch
        E.enhance_images([src], tmp_path / "o", "frlie", path, profile="smoke", variant="released_code")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(E.EnhanceError, match="cannot be read as a torch checkpoint") as caught:
        E.enhance_images([src], tmp_path / "o", "frlie", junk, profile="smoke")
    assert isinstance(caught.value.__cause__, T.CheckpointError)  # the training layer's error, same message
    assert str(caught.value) == str(caught.value.__cause__)
    assert E.main([str(src), "--method", "frlie", "--checkpoint", str(junk), "--profile", "smoke", "--out",
                   str(tmp_path / "o"), "--no-progress"]) == 2
    assert "error: " in capsys.readouterr().err  # the command line reports it, no traceback


def test_command_line(tmp_path, capsys):
    src = _write(tmp_path / "in" / "p.png")
    assert E.main([str(src.parent), "--method", "clahe", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "p.png").is_file() and "1 image(s) written" in capsys.readouterr().out
    assert E.main([str(tmp_path / "nope"), "--method", "he", "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "in" / "bad.png").write_bytes(b"junk")
    assert E.main([str(src.parent), "--method", "he", "--out", str(tmp_path / "o2"), "--skip-errors"]) == 1
    assert "skipped" in capsys.readouterr().err


def test_command_line_resolves_the_weights_root_once(tmp_path, capsys, monkeypatch, shared_root):
    """The CLI is an entry point: ``--weights-root``, else ``$LLIE_WEIGHTS_ROOT``, else ``<--data-root or
    $LLIE_DATA_ROOT>/../weights``; absent weights are an error naming them, not a traceback."""
    weights = shared_root / "weights"
    if not (weights / "zero_dce" / "Epoch99.pth").is_file():
        skip_or_fail(f"{weights}/zero_dce/Epoch99.pth absent")
    src = _write(tmp_path / "in" / "p.png")

    def run(out: str, *extra: str) -> int:
        return E.main([str(src), "--method", "zero_dce", "--out", str(tmp_path / out), "--no-progress", *extra])

    monkeypatch.delenv("LLIE_WEIGHTS_ROOT", raising=False)
    monkeypatch.delenv("LLIE_DATA_ROOT", raising=False)
    assert run("a") == 2 and "weights absent" in capsys.readouterr().err
    monkeypatch.setenv("LLIE_DATA_ROOT", str(shared_root / "data"))
    assert run("b") == 0                                     # <data root>/../weights
    monkeypatch.setenv("LLIE_WEIGHTS_ROOT", str(tmp_path / "empty"))
    assert run("c") == 2                                     # the environment's weights root comes first ...
    assert run("d", "--weights-root", str(weights)) == 0     # ... and the argument before it
    assert run("e", "--data-root", str(tmp_path)) == 2       # an explicit data root does not override the env's weights


def test_same_names_in_different_folders_never_overwrite_each_other(tmp_path, capsys):
    a, b, c = (_write(tmp_path / "a" / "x.png", seed=1), _write(tmp_path / "b" / "x.png", seed=2),
               _write(tmp_path / "c" / "sub" / "x.png", seed=3))
    tree = E.input_tree([tmp_path / "a", tmp_path / "b", tmp_path / "c"], recursive=True)
    assert list(tree) == [a, b, c] and [str(r) for r in tree.values()] == ["x.png", "x.png", "sub/x.png"]
    names = E.output_names(list(tree), list(tree.values()))
    assert names == ["a/x.png", "b/x.png", "sub/x.png"]  # sub-path kept, roots told apart
    assert E.output_names([a, b, c]) == ["a/x.png", "b/x.png", "sub/x.png"]  # files given one by one: same rule
    deep = [_write(tmp_path / "p" / "q" / "y.png"), _write(tmp_path / "r" / "q" / "y.png")]
    assert E.output_names(deep) == ["p/q/y.png", "r/q/y.png"]
    report = E.enhance_images([tmp_path / "a", tmp_path / "b", tmp_path / "c"], tmp_path / "out", "he",
                              recursive=True, progress=False)
    assert [p.relative_to(tmp_path / "out").as_posix() for p in report.written] == names
    assert len({p.read_bytes() for p in report.written}) == 3  # three different images, none overwritten
    with pytest.raises(E.EnhanceError, match="3 output"):  # a second run never replaces them silently
        E.enhance_images([tmp_path / "a", tmp_path / "b", tmp_path / "c"], tmp_path / "out", "he", recursive=True)
    again = E.enhance_images([a, b], tmp_path / "out", "he", overwrite=True, progress=False)
    assert again.replaced == again.written and len(again.written) == 2
    cli = [str(a), str(b), "--method", "he", "--out", str(tmp_path / "out"), "--no-progress"]
    assert E.main(cli) == 2 and "--overwrite" in capsys.readouterr().err
    assert E.main([*cli, "--overwrite"]) == 0 and "2 existing file(s) replaced" in capsys.readouterr().out


def _run_folder(root, method="frlie", profile="smoke"):
    """A finished run as recipes.train_method leaves it, of a config that no YAML profile has (2 blocks)."""
    cfg = load_method_config("frlie", profile)
    cfg["model"]["num_blocks"] = 2
    torch.manual_seed(1)
    model = build_model(dict(cfg["model"])).eval()
    run = root / "runs" / "frlie"
    (run / "stage2" / "checkpoints").mkdir(parents=True)
    torch.save({"model": model.state_dict()}, run / "stage2" / "checkpoints" / "best.pt")
    (run / "recipe.json").write_text(json.dumps({"method": method, "variant": None, "tag": None,
                                                 "profile": profile, "config": cfg}))
    return run, model


def test_run_folder_checkpoints_use_the_config_of_their_recipe(tmp_path, capsys):
    run, model = _run_folder(tmp_path)
    src = _write(tmp_path / "in" / "x.png")
    best = run / "stage2" / "checkpoints" / "best.pt"
    assert T.model_config("frlie", best)[1] == "its run's recipe.json (profile smoke)"
    for checkpoint, out in ((run, "o1"), (best, "o2")):  # the run folder and its checkpoint file
        written = E.enhance_images([src], tmp_path / out, "frlie", checkpoint, progress=False).written[0]
        with torch.no_grad():
            expected = as_enhancer(model, "frlie", 4)(torch.from_numpy(read_image(src))[None])[0].numpy()
        np.testing.assert_allclose(read_image(written), expected, atol=1 / 255 + 1e-6)
    with pytest.raises(E.EnhanceError, match="does not fit frlie built from configs/frlie/paper.yaml"):
        E.enhance_images([src], tmp_path / "o3", "frlie", run, profile="paper", progress=False)  # explicit wins
    assert E.main([str(src), "--method", "frlie", "--checkpoint", str(run), "--out", str(tmp_path / "o4"),
                   "--no-progress"]) == 0
    assert T.model_config("frlie", tmp_path / "elsewhere.pt")[1] == "configs/frlie/paper.yaml"  # no run folder
    wrong, _ = _run_folder(tmp_path / "other", method="irle")
    with pytest.raises(T.CheckpointError, match="is a irle run"):
        T.load_model("frlie", wrong)
    with pytest.raises(E.EnhanceError, match="is a irle run"):
        E.enhance_images([src], tmp_path / "o5", "frlie", wrong, progress=False)


# ---- issue 18: nothing lost, nothing silently wrong ------------------------------------------------------------
def test_out_equal_to_the_input_folder_never_replaces_the_originals(tmp_path, capsys):
    """Defect 2: ``--out`` = the input folder (or a file input's folder) is refused, even with ``--overwrite``."""
    folder = tmp_path / "photos"
    originals = {p: p.read_bytes() for p in (_write(folder / "a.png"), _write(folder / "b.png", seed=1))}
    for inputs in ([folder], [folder / "a.png"], [tmp_path / "photos" / "." / "b.png"]):
        for overwrite in (False, True):
            with pytest.raises(E.EnhanceError, match="input"):
                E.enhance_images(inputs, folder, "he", overwrite=overwrite, progress=False)
    assert E.main([str(folder), "--method", "he", "--out", str(folder), "--overwrite", "--no-progress"]) == 2
    assert "input" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in originals} == originals and sorted(p.name for p in folder.iterdir()) == [
        "a.png", "b.png"]


def test_a_bad_out_fails_before_anything_is_enhanced(tmp_path, capsys, monkeypatch):
    """Defect 5: a file path, or a folder that cannot be written, as ``--out`` is a clear error up front."""
    src = _write(tmp_path / "in" / "x.png")
    calls = []
    enhancer = as_enhancer(lambda x: calls.append(1) or x, "spy")
    a_file = tmp_path / "taken.txt"
    a_file.write_text("x")
    for out in (a_file, a_file / "sub"):
        with pytest.raises(E.EnhanceError, match="--out"):
            E.enhance_images([src], out, enhancer=enhancer, progress=False)
    assert not calls
    assert E.main([str(src), "--method", "he", "--out", str(a_file), "--no-progress"]) == 2
    assert "--out" in capsys.readouterr().err

    def refuse(*args, **kwargs):  # what a read-only mount or a folder of another user does (root ignores chmod)
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patch:
        patch.setattr(E.tempfile, "NamedTemporaryFile", refuse)
        with pytest.raises(E.EnhanceError, match="--out .*cannot be written.*Permission denied"):
            E.enhance_images([src], tmp_path / "ro", enhancer=enhancer, progress=False)
    assert not calls
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("running as root: a read-only folder is writable")
        with pytest.raises(E.EnhanceError, match="--out .*cannot be written"):
            E.enhance_images([src], locked / "out", enhancer=enhancer, progress=False)
        assert not calls
    finally:
        locked.chmod(0o700)


def test_a_run_that_failed_midway_continues(tmp_path):
    """Defect 6: outputs are written atomically and a re-run of the same command continues where it stopped
    (outputs of an unrelated earlier run still need ``--overwrite``)."""
    folder = tmp_path / "in"
    files = [_write(folder / f"im{i}.png", seed=i) for i in range(3)]
    seen = []

    def flaky(x):
        seen.append(1)
        if len(seen) == 2:
            raise RuntimeError("out of memory")
        return x * 0.5

    with pytest.raises(RuntimeError, match="out of memory"):
        E.enhance_images([folder], tmp_path / "out", enhancer=as_enhancer(flaky, "half"), progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == ["im0.png"]
    again = E.enhance_images([folder], tmp_path / "out", enhancer=as_enhancer(lambda x: x * 0.5, "half"),
                             progress=False)
    assert [p.name for p in again.written] == ["im1.png", "im2.png"] and [p.name for p in again.resumed] == ["im0.png"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["im0.png", "im1.png", "im2.png"]  # no leftovers
    for src in files:
        np.testing.assert_allclose(read_image(tmp_path / "out" / src.name), read_image(src) * 0.5, atol=1 / 255 + 1e-6)
    with pytest.raises(E.EnhanceError, match="exist already"):  # finished: a new run does not skip silently
        E.enhance_images([folder], tmp_path / "out", enhancer=as_enhancer(lambda x: x * 0.5, "half"), progress=False)


def test_a_failed_run_is_not_continued_by_another_method(tmp_path):
    folder = tmp_path / "in"
    for i in range(2):
        _write(folder / f"im{i}.png", seed=i)

    def broken_second(x, seen=[]):
        seen.append(1)
        if len(seen) == 2:
            raise RuntimeError("boom")
        return x

    with pytest.raises(RuntimeError):
        E.enhance_images([folder], tmp_path / "out", enhancer=as_enhancer(broken_second, "first"), progress=False)
    with pytest.raises(E.EnhanceError, match="exist already"):
        E.enhance_images([folder], tmp_path / "out", "he", progress=False)


@pytest.mark.parametrize("args", [["--tile-size", "0"], ["--tile-size", "-5"], ["--tile-overlap", "-1"],
                                  ["--tile-size", "128", "--tile-overlap", "64"],
                                  ["--tile-size", "128", "--tile-overlap", "100"]])
def test_bad_tile_settings_are_clear_errors(tmp_path, capsys, args):
    """Defect 11: a tile size of 0 or an overlap of half the tile or more is an error message, not a traceback."""
    src = _write(tmp_path / "x.png")
    with pytest.raises(SystemExit) as caught:
        E.main([str(src), "--method", "he", "--out", str(tmp_path / "o"), "--no-progress", *args])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "--tile" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_tile_smaller_than_the_models_multiple_is_a_clear_error(tmp_path):
    src = _write(tmp_path / "x.png", (300, 200))
    enhancer = as_enhancer(lambda x: x, "m16", pad_multiple=16)
    with pytest.raises(E.EnhanceError, match="tile"):
        E.enhance_images([src], tmp_path / "o", enhancer=enhancer, tile=TileConfig(20, 8), progress=False)


@pytest.mark.parametrize("method", ["he", "clahe"])
def test_global_baselines_are_never_tiled(tmp_path, method):
    """Defect 1: HE and CLAHE use whole-image statistics: enhance gives the whole-image result on an image far
    larger than a tile (it used to differ by tens of levels, with visible blocks)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:700, 0:1100]
    img = (np.stack([xx / 1100 * 120, yy / 700 * 60, (xx + yy) % 97], -1) + rng.integers(0, 20, (700, 1100, 3)))
    src = tmp_path / "big.png"
    Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(src)
    report = E.enhance_images([src], tmp_path / "out", method, tile=TileConfig(256, 32), progress=False)
    enhancer = E.build_method_enhancer(method)
    assert enhancer.tileable is False
    whole = enhancer(torch.from_numpy(read_image(src))[None])[0].numpy()
    assert np.abs(read_image(report.written[0]) - whole).max() <= 1 / 255 + 1e-6


def test_lime_is_never_tiled(tmp_path):
    src = _write(tmp_path / "x.png", (301, 201))
    report = E.enhance_images([src], tmp_path / "out", "lime", tile=TileConfig(128, 16), progress=False)
    whole = E.build_method_enhancer("lime")(torch.from_numpy(read_image(src))[None])[0].numpy()
    assert np.abs(read_image(report.written[0]) - whole).max() <= 1 / 255 + 1e-6


def test_trained_models_are_not_tiled_unless_they_declare_it(tmp_path, frlie_checkpoint):
    run, path, model = frlie_checkpoint
    enhancer = E.build_method_enhancer("frlie", path, profile="smoke")
    assert enhancer.tileable is bool(getattr(model, "tileable", False))
