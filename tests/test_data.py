"""The data layer: downloads, archives, folder layout and image checks, on generated images."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catsdogs import data
from catsdogs.data import DataError, prepare_dataset

from .conftest import zip_folder

SHARED_ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cats_and_dogs_filtered.zip"


def _leftovers(ws) -> list[str]:
    """Anything in data/ besides downloads: staging folders, half-extracted data."""
    return sorted(p.name for p in ws.data.iterdir() if p.name != "downloads")


# --------------------------------------------------------------------------- downloads


def test_download_from_file_url_then_cache(image_archive, ws, monkeypatch):
    url = image_archive.as_uri()
    first = data.fetch_archive(url, ws.downloads)
    assert first.read_bytes() == image_archive.read_bytes()
    assert not list(ws.downloads.glob("*.part"))

    def no_network(*args, **kwargs):
        raise AssertionError("the second call must use the cache")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert data.fetch_archive(url, ws.downloads) == first


def test_checksum_mismatch_deletes_download_and_explains(image_archive, ws):
    with pytest.raises(DataError, match="sha256") as error:
        data.fetch_archive(image_archive.as_uri(), ws.downloads, expected_sha256="0" * 64)
    assert "run the cell again" in str(error.value)
    assert list(ws.downloads.iterdir()) == []


def test_checksum_match_is_accepted(image_archive, ws):
    digest = hashlib.sha256(image_archive.read_bytes()).hexdigest()
    path = data.fetch_archive(image_archive.as_uri(), ws.downloads, expected_sha256=digest)
    assert data.sha256_of(path) == digest


def test_stale_cache_is_downloaded_again(image_archive, ws):
    digest = hashlib.sha256(image_archive.read_bytes()).hexdigest()
    (ws.downloads / image_archive.name).write_bytes(b"half a file")
    path = data.fetch_archive(image_archive.as_uri(), ws.downloads, expected_sha256=digest)
    assert path.read_bytes() == image_archive.read_bytes()


def test_unreachable_source_says_how_to_use_a_local_copy(tmp_path, ws):
    with pytest.raises(DataError) as error:
        prepare_dataset((tmp_path / "nowhere" / "cats_and_dogs_filtered.zip").as_uri(), ws)
    message = str(error.value)
    assert "Could not download" in message and data.DATA_ENV in message
    assert "data/downloads/cats_and_dogs_filtered.zip" in message
    assert list(ws.downloads.iterdir()) == []


def test_missing_local_path_is_explained(tmp_path, ws):
    with pytest.raises(DataError, match="does not exist"):
        prepare_dataset(tmp_path / "no_such.zip", ws)


def test_environment_variable_selects_the_source(image_archive, ws, monkeypatch):
    monkeypatch.setenv(data.DATA_ENV, str(image_archive))
    dataset = prepare_dataset(None, ws)
    assert dataset.counts["train"] == {"cats": 12, "dogs": 12}


# --------------------------------------------------------------------------- archives


def test_archive_is_extracted_and_reused(image_archive, ws):
    dataset = prepare_dataset(image_archive, ws)
    assert dataset.root == ws.data / "cats_and_dogs_filtered"
    assert dataset.classes == ["cats", "dogs"]
    assert dataset.counts == {"train": {"cats": 12, "dogs": 12}, "validation": {"cats": 6, "dogs": 6}}
    assert len(list(dataset.train_dir.glob("cats/*.jpg"))) == 12
    assert _leftovers(ws) == ["cats_and_dogs_filtered"]

    marker = dataset.root / data.MARKER_NAME
    before = marker.stat().st_mtime_ns
    again = prepare_dataset(image_archive, ws)
    assert again.counts == dataset.counts and marker.stat().st_mtime_ns == before


def test_truncated_archive_is_refused_and_nothing_is_left(image_archive, ws, tmp_path):
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(image_archive.read_bytes()[: image_archive.stat().st_size // 2])
    with pytest.raises(DataError, match="truncated|damaged"):
        prepare_dataset(truncated, ws)
    assert _leftovers(ws) == []


def test_archive_with_a_damaged_member_is_refused(image_archive, ws, tmp_path):
    damaged = tmp_path / "damaged.zip"
    raw = bytearray(image_archive.read_bytes())
    with zipfile.ZipFile(image_archive) as zf:
        info = zf.infolist()[-1]
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 5
    raw[offset] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="damaged"):
        prepare_dataset(damaged, ws)
    assert _leftovers(ws) == []


def test_a_file_that_is_not_a_zip_is_refused(ws, tmp_path):
    fake = tmp_path / "cats_and_dogs_filtered.zip"
    fake.write_text("<html>Sign in to continue</html>")
    with pytest.raises(DataError, match="not a zip archive"):
        prepare_dataset(fake, ws)
    assert _leftovers(ws) == []


@pytest.mark.parametrize("evil_name", ["../escaped.txt", "/tmp/absolute_escape.txt", "a/../../escaped.txt"])
def test_archive_entries_cannot_escape_the_data_folder(image_set, ws, tmp_path, evil_name):
    archive = zip_folder(image_set, tmp_path / "evil.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(evil_name, "gotcha")
    with pytest.raises(DataError, match="outside"):
        prepare_dataset(archive, ws)
    assert not (ws.root / "escaped.txt").exists() and not (ws.data / "escaped.txt").exists()
    assert _leftovers(ws) == []


def test_symlink_entries_are_refused(image_set, ws, tmp_path):
    archive = zip_folder(image_set, tmp_path / "link.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        info = zipfile.ZipInfo("cats_and_dogs_filtered/train/cats/link.jpg")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DataError, match="outside"):
        prepare_dataset(archive, ws)


def test_known_archive_with_wrong_counts_is_called_incomplete(image_archive, ws, monkeypatch):
    digest = data.sha256_of(image_archive)
    monkeypatch.setitem(data.KNOWN_ARCHIVES, digest, "pretend canonical")
    with pytest.raises(DataError, match="incomplete"):
        prepare_dataset(image_archive, ws)
    assert _leftovers(ws) == []


def test_half_extracted_folder_is_not_taken_for_a_good_one(image_archive, ws):
    half = ws.data / "cats_and_dogs_filtered" / "train" / "cats"
    half.mkdir(parents=True)
    (half / "cat.0.jpg").write_bytes(b"")
    dataset = prepare_dataset(image_archive, ws)
    assert dataset.counts["train"]["cats"] == 12
    assert (dataset.root / data.MARKER_NAME).exists()


@pytest.mark.skipif(not SHARED_ARCHIVE.exists(), reason="the offline copy of the real archive is not beside the repo")
def test_the_offline_copy_of_the_real_archive_is_recognised():
    data.check_archive(SHARED_ARCHIVE)
    assert data.sha256_of(SHARED_ARCHIVE) in data.KNOWN_ARCHIVES


# --------------------------------------------------------------------------- layout


def test_images_without_split_folders_are_a_layout_error(tmp_path, ws):
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (40, 40)).save(flat / "cat.1.jpg")
    with pytest.raises(DataError, match="Wrong folder layout.*Found: cat.1.jpg"):
        prepare_dataset(flat, ws)


def test_split_without_class_folders_is_a_layout_error(image_set, ws):
    for cls in ("cats", "dogs"):
        for image in (image_set / "train" / cls).iterdir():
            image.rename(image_set / "train" / image.name)
        (image_set / "train" / cls).rmdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        prepare_dataset(image_set, ws)
    assert _leftovers(ws) == []


def test_empty_class_folder_is_an_error(image_set, ws):
    shutil.rmtree(image_set / "validation" / "dogs")
    (image_set / "validation" / "dogs").mkdir()
    with pytest.raises(DataError, match="validation/dogs/ holds no images"):
        prepare_dataset(image_set, ws)


def test_different_classes_in_the_two_splits_is_an_error(image_set, ws):
    (image_set / "validation" / "dogs").rename(image_set / "validation" / "dog")
    with pytest.raises(DataError, match="different classes"):
        prepare_dataset(image_set, ws)


# --------------------------------------------------------------------------- image checks


def _save(image: Image.Image, path: Path, fmt: str, **kwargs) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def messy_set(image_set) -> Path:
    cats, dogs = image_set / "train" / "cats", image_set / "train" / "dogs"
    good = (cats / "cat.train.0.jpg").read_bytes()
    (cats / "cat.truncated.jpg").write_bytes(good[: len(good) // 3])
    (cats / "cat.garbage.jpg").write_bytes(os.urandom(2000))
    (cats / "notes.txt").write_text("not a photo")
    _save(Image.new("RGB", (60, 60), "red"), dogs / "dog.png_inside.jpg", "PNG")
    _save(Image.new("P", (60, 60)), dogs / "dog.gif_inside.jpg", "GIF")
    _save(Image.new("L", (60, 60), 128), cats / "cat.gray.jpg", "JPEG")
    _save(Image.new("CMYK", (60, 60), (0, 50, 100, 0)), dogs / "dog.cmyk.jpg", "JPEG")
    _save(Image.new("RGBA", (60, 60), (10, 200, 10, 128)), dogs / "dog.rgba.png", "PNG")
    return image_set


def test_unusable_images_are_quarantined_with_a_report(messy_set, ws):
    dataset = prepare_dataset(messy_set, ws)
    quarantined = {Path(i.path).name: i.problem for i in dataset.quarantined}
    assert set(quarantined) == {
        "cat.truncated.jpg", "cat.garbage.jpg", "notes.txt", "dog.png_inside.jpg", "dog.gif_inside.jpg"
    }
    assert "PNG file named .jpg" in quarantined["dog.png_inside.jpg"]
    assert "GIF file named .jpg" in quarantined["dog.gif_inside.jpg"]
    assert "cannot be decoded" in quarantined["cat.truncated.jpg"]
    for name in quarantined:
        assert not list(dataset.root.rglob(name)), f"{name} was left in the training data"
        assert list((ws.data / "quarantine").rglob(name)), f"{name} is not in quarantine"
    with open(ws.data / "quarantine" / "report.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {Path(r["path"]).name for r in rows if r["action"] == "quarantined"} == set(quarantined)
    # the caller's own folder is never changed
    assert (messy_set / "train" / "cats" / "cat.truncated.jpg").exists()


def test_grayscale_cmyk_and_rgba_images_are_kept_and_load_as_rgb(messy_set, ws):
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    dataset = prepare_dataset(messy_set, ws)
    kept = {Path(i.path).name: i.problem for i in dataset.issues if i.action.startswith("kept")}
    assert kept == {"cat.gray.jpg": "colour mode L", "dog.cmyk.jpg": "colour mode CMYK",
                    "dog.rgba.png": "colour mode RGBA"}
    generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        dataset.train_dir, target_size=(32, 32), batch_size=64, class_mode="binary", shuffle=False
    )
    images, labels = next(generator)
    assert images.shape == (dataset.counts["train"]["cats"] + dataset.counts["train"]["dogs"], 32, 32, 3)
    assert np.isfinite(images).all() and images.max() <= 1.0


def test_a_class_emptied_by_quarantine_is_an_error(image_set, ws):
    for image in (image_set / "validation" / "cats").iterdir():
        image.write_bytes(b"broken")
    with pytest.raises(DataError, match="validation/cats/ holds no images"):
        prepare_dataset(image_set, ws)
    assert _leftovers(ws) == []
