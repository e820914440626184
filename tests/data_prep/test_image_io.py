"""read_image / write_image / image_size: bit depths, modes, EXIF orientation, and clear errors."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from data_prep.image_io import ImageReadError, apply_orientation, image_size, read_image, write_image


def _rgb8(h: int = 5, w: int = 7, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_8bit_png_is_scaled_by_255_and_chw(tmp_path):
    pixels = _rgb8()
    Image.fromarray(pixels).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.float32 and out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out, pixels.transpose(2, 0, 1) / np.float32(255))


def test_16bit_colour_png_and_tiff_keep_16_bits(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 65536, (4, 6, 3), dtype=np.uint16)
    for name in ("a16.png", "a16.tif"):
        assert cv2.imwrite(str(tmp_path / name), pixels[..., ::-1])  # OpenCV writes BGR
        out = read_image(tmp_path / name)
        np.testing.assert_allclose(out, pixels.transpose(2, 0, 1) / 65535.0, atol=1e-7)


def test_16bit_grey_png_becomes_three_equal_channels(tmp_path):
    grey = np.array([[0, 1000, 65535], [30000, 40000, 5]], dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    out = read_image(tmp_path / "g16.png")
    assert out.shape == (3, 2, 3)
    for c in range(3):
        np.testing.assert_allclose(out[c], grey / 65535.0, atol=1e-7)


def test_8bit_grey_becomes_three_identical_channels(tmp_path):
    grey = _rgb8()[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (3, 5, 7)
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])
    np.testing.assert_array_equal(out[0], grey / np.float32(255))


def test_rgba_alpha_is_dropped_not_composited(tmp_path):
    rgba = np.concatenate([_rgb8(), np.zeros((5, 7, 1), np.uint8)], axis=2)  # fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgba[..., :3].transpose(2, 0, 1) / np.float32(255))


def test_palette_image_is_expanded_to_its_colours(tmp_path):
    palette_image = Image.fromarray(_rgb8()).quantize(colors=8)
    palette_image.save(tmp_path / "p.png")
    expected = np.asarray(palette_image.convert("RGB")).transpose(2, 0, 1) / np.float32(255)
    assert Image.open(tmp_path / "p.png").mode == "P"
    np.testing.assert_array_equal(read_image(tmp_path / "p.png"), expected)


def test_cmyk_jpeg_is_converted_to_rgb(tmp_path):
    Image.fromarray(_rgb8(16, 16)).convert("CMYK").save(tmp_path / "c.jpg")
    out = read_image(tmp_path / "c.jpg")
    assert out.shape == (3, 16, 16) and 0 <= out.min() and out.max() <= 1


def _jpeg_with_orientation(path, pixels: np.ndarray, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, quality=100, exif=exif.tobytes())


def test_exif_orientation_6_rotates_the_image(tmp_path):
    pixels = np.zeros((16, 32, 3), np.uint8)
    pixels[:, :16] = (255, 0, 0)  # left half red, right half blue as stored
    pixels[:, 16:] = (0, 0, 255)
    _jpeg_with_orientation(tmp_path / "r.jpg", pixels, 6)  # 6: display = stored rotated 90 degrees clockwise
    out = read_image(tmp_path / "r.jpg")
    assert out.shape == (3, 32, 16)
    assert image_size(tmp_path / "r.jpg") == (32, 16)
    assert out[0, :14].mean() > 0.9 and out[2, :14].mean() < 0.1  # the stored left (red) is now on top
    assert out[2, 18:].mean() > 0.9 and out[0, 18:].mean() < 0.1


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.jpg"
    _jpeg_with_orientation(path, _rgb8(6, 10), orientation)
    with Image.open(path) as image:
        expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB")).transpose(2, 0, 1) / np.float32(255)
    np.testing.assert_array_equal(read_image(path), expected)
    assert image_size(path) == expected.shape[1:]


def test_apply_orientation_rejects_nothing_and_keeps_unknown_values():
    a = np.arange(6).reshape(2, 3, 1)
    np.testing.assert_array_equal(apply_orientation(a, 0), a)  # invalid tag values -> unchanged


def test_truncated_png_raises_with_the_path(tmp_path):
    Image.fromarray(_rgb8(64, 64)).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut.png") as info:
        read_image(tmp_path / "cut.png")
    assert "Fix:" in str(info.value)


def test_truncated_jpeg_raises_with_the_path(tmp_path):
    """Pillow would return a grey-filled image if truncated files were allowed; the reader must refuse."""
    Image.fromarray(_rgb8(64, 64)).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    assert read_image(tmp_path / "full.jpg").shape == (3, 64, 64)
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    assert image_size(tmp_path / "cut.jpg") == (64, 64)  # the header survives the cut
    with pytest.raises(ImageReadError, match="cut.jpg") as info:
        read_image(tmp_path / "cut.jpg")
    assert str(tmp_path / "cut.jpg") in str(info.value) and "truncated" in str(info.value)


def test_random_bytes_raise_with_the_path(tmp_path):
    path = tmp_path / "noise.png"
    path.write_bytes(os.urandom(300))
    with pytest.raises(ImageReadError, match="noise.png"):
        read_image(path)
    with pytest.raises(ImageReadError, match="noise.png"):
        image_size(path)


def test_missing_file_raises_image_read_error(tmp_path):
    with pytest.raises(ImageReadError, match="not found") as info:
        read_image(tmp_path / "absent.png")
    assert str(tmp_path / "absent.png") in str(info.value)
    assert isinstance(info.value, ValueError)


def test_image_size_is_height_width_without_decoding(tmp_path):
    Image.fromarray(_rgb8(5, 7)).save(tmp_path / "a.png")
    assert image_size(tmp_path / "a.png") == (5, 7)


def test_write_image_clips_rounds_and_roundtrips(tmp_path):
    chw = np.array([[[-0.2, 0.5, 1.7]], [[0.0, 0.25, 1.0]], [[0.999, 0.002, 0.5]]], dtype=np.float32)
    path = write_image(tmp_path / "deep/er/out.png", chw)
    assert path == tmp_path / "deep/er/out.png" and path.is_file()
    back = np.asarray(Image.open(path))
    np.testing.assert_array_equal(back.transpose(2, 0, 1),
                                  np.round(np.clip(chw, 0, 1) * 255).astype(np.uint8))
    assert [p.name for p in path.parent.iterdir()] == ["out.png"]  # no temporary file left behind


def test_write_image_accepts_torch_batch_of_one_and_grey(tmp_path):
    tensor = torch.rand(1, 3, 4, 5)
    out = read_image(write_image(tmp_path / "t.png", tensor))
    np.testing.assert_allclose(out, tensor[0].numpy(), atol=0.5 / 255 + 1e-6)
    grey = read_image(write_image(tmp_path / "g.png", np.full((1, 2, 2), 0.5, np.float32)))
    assert grey.shape == (3, 2, 2)


def test_write_image_rejects_bad_shapes_and_nan(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        write_image(tmp_path / "x.png", np.full((3, 2, 2), np.nan))
    with pytest.raises(ValueError, match="PNG"):
        write_image(tmp_path / "x.jpg", np.zeros((3, 2, 2)))
