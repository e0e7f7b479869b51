"""The one image loader that the data layer, the prediction command and the web page share."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from catsdogs import images
from catsdogs.images import ImageInputError, load_for_model, open_image


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _tiff(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="TIFF")
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "CMYK", "LA", "1"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_8_bit_images_load_exactly_as_keras_load_img(tmp_path, mode, interpolation):
    import keras

    rng = np.random.default_rng(1)
    path = tmp_path / ("photo.tif" if mode in ("CMYK", "LA") else "photo.png")
    Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)).convert(mode).save(path)
    ours = load_for_model(path, (24, 20), 1 / 255, interpolation)
    theirs = keras.utils.img_to_array(keras.utils.load_img(path, target_size=(24, 20), interpolation=interpolation),
                                      dtype="float32") / 255
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("data, grey", [
    (_png(np.full((10, 10), 32768, np.uint16)), 128),  # Pillow's convert("RGB") makes this white
    (_png(np.full((10, 10), 65535, np.uint16)), 255),
    (_tiff(np.full((10, 10), 0.5, np.float32)), 128),  # and this black
    (_tiff(np.full((10, 10), 200.0, np.float32)), 200),
])
def test_16_bit_and_float_pixels_are_scaled_not_clipped(data, grey):
    decoded = open_image(data, "grey")
    assert decoded.image.mode == "RGB"
    assert np.asarray(decoded.image).min() == np.asarray(decoded.image).max() == grey
    assert "scaled to 8-bit RGB" in decoded.converted


@pytest.mark.parametrize("values, message", [
    (np.full((10, 10), np.nan, np.float32), "NaN or infinite"),
    (np.full((10, 10), -3.0, np.float32), "range from -3 to -3"),
    (np.full((10, 10), 1e6, np.float32), "not a brightness scale"),
])
def test_float_pixels_without_a_known_range_are_refused(values, message):
    with pytest.raises(ImageInputError, match=message) as error:
        open_image(_tiff(values), "odd.tif")
    assert error.value.kind == "pixels"


def test_a_header_claiming_too_many_pixels_is_refused_before_decoding():
    bomb = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(bomb, format="PNG")  # about 100 KB that decode to 900 megapixels
    with pytest.raises(ImageInputError, match="enormous image") as error:
        open_image(bomb.getvalue(), "bomb.png")
    assert error.value.kind == "too_large"


def test_the_pixel_limit_is_checked_from_the_header():
    data = _png(np.zeros((300, 200, 3), np.uint8))
    with pytest.raises(ImageInputError, match=r"200 × 300 pixels .* the limit is 0.05 megapixels") as error:
        open_image(data, "big.png", max_pixels=50_000)
    assert error.value.kind == "too_large"
    assert open_image(data, "big.png", max_pixels=60_000).image.size == (200, 300)


def test_a_flipped_byte_in_a_bmp_header_is_one_clear_error():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, format="BMP")
    raw = bytearray(buffer.getvalue())
    raw[22] = 0x7F  # the height field: now about two billion rows
    with pytest.raises(ImageInputError) as error:
        open_image(bytes(raw), "flipped.bmp")
    assert error.value.kind in ("too_large", "damaged") and "flipped.bmp" in str(error.value)


def test_formats_outside_the_list_are_not_opened():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n"
    with pytest.raises(ImageInputError, match="not an image this tool reads") as error:
        open_image(eps, "drawing.jpg")
    assert error.value.kind == "not_image"
    ppm = io.BytesIO()
    Image.new("RGB", (8, 8)).save(ppm, format="PPM")
    with pytest.raises(ImageInputError, match="not an image this tool reads"):
        open_image(ppm.getvalue(), "photo.ppm")


@pytest.mark.parametrize("fmt", list(images.FORMATS))
def test_every_documented_format_opens(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 100, 50)).save(buffer, format=fmt)
    decoded = open_image(buffer.getvalue(), f"photo{images.FORMATS[fmt][0]}")
    assert decoded.format == fmt and decoded.image.size == (16, 12)
    assert fmt.lower() in images.FORMATS_TEXT.lower()


def test_files_that_are_not_images_say_so(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "folder.jpg").mkdir()
    kinds = {}
    for name in ("empty.jpg", "folder.jpg", "missing.jpg"):
        with pytest.raises(ImageInputError) as error:
            open_image(tmp_path / name)
        kinds[name] = error.value.kind
        assert str(error.value).startswith(name + ":")
        assert str(tmp_path) not in str(error.value)
    assert kinds == {"empty.jpg": "empty", "folder.jpg": "folder", "missing.jpg": "missing"}
