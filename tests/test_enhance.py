"""``llie_core.enhance``: own images through a trained checkpoint or a baseline, folders and files, tiling of
large images, clear errors for unreadable inputs and bad checkpoints, the command line."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from data_prep.image_io import read_image
from llie_core import enhance as E
from llie_core.evaluation import as_enhancer
from llie_core.models import build_model
from llie_core.recipes import load_method_config
from llie_core.tiling import TileConfig


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


def test_clear_errors_for_bad_requests(tmp_path, frlie_checkpoint):
    run, path, _ = frlie_checkpoint
    src = _write(tmp_path / "x.png")
    with pytest.raises(E.EnhanceError, match="needs --checkpoint"):
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
    with pytest.raises(E.EnhanceError, match="cannot be read as a torch checkpoint"):
        E.enhance_images([src], tmp_path / "o", "frlie", junk, profile="smoke")


def test_command_line(tmp_path, capsys):
    src = _write(tmp_path / "in" / "p.png")
    assert E.main([str(src.parent), "--method", "clahe", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "p.png").is_file() and "1 image(s) written" in capsys.readouterr().out
    assert E.main([str(tmp_path / "nope"), "--method", "he", "--out", str(tmp_path / "o")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "in" / "bad.png").write_bytes(b"junk")
    assert E.main([str(src.parent), "--method", "he", "--out", str(tmp_path / "o2"), "--skip-errors"]) == 1
    assert "skipped" in capsys.readouterr().err
