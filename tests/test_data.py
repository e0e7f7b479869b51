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


# --------------------------------------------------------------------------- careless and hostile input


def _keras_classes(folder: Path) -> dict[str, int]:
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator().flow_from_directory(folder, target_size=(16, 16), batch_size=4).class_indices


def _report_rows(ws) -> list[dict]:
    with open(ws.data / "quarantine" / "report.csv") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("as_archive", [False, True], ids=["folder", "archive"])
def test_hidden_folders_and_system_files_are_removed_and_reported(image_set, ws, tmp_path, as_archive):
    """Jupyter's .ipynb_checkpoints would otherwise become a third class, and the model answer one class only."""
    cats = image_set / "train" / "cats"
    checkpoints = image_set / "train" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    shutil.copy(cats / "cat.train.0.jpg", checkpoints / "cat.0-checkpoint.jpg")
    (cats / ".ipynb_checkpoints").mkdir()
    (cats / ".DS_Store").write_bytes(b"\0\0\0\1Bud1" + os.urandom(100))
    (cats / "Thumbs.db").write_bytes(os.urandom(100))
    (cats / "._cat.train.0.jpg").write_bytes(b"\0\5\26\7" + os.urandom(100))  # an AppleDouble resource fork
    (image_set / "validation" / "dogs" / "desktop.ini").write_text("[.ShellClassInfo]")
    source = image_set
    if as_archive:
        source = zip_folder(image_set, tmp_path / "junk.zip")
        with zipfile.ZipFile(source, "a") as zf:
            zf.writestr("__MACOSX/cats_and_dogs_filtered/train/cats/._cat.train.1.jpg", b"\0\5\26\7")
    dataset = prepare_dataset(source, ws)
    assert dataset.classes == ["cats", "dogs"]
    assert dataset.counts["train"] == {"cats": 12, "dogs": 12}
    removed = {issue.path for issue in dataset.removed}
    assert {"train/.ipynb_checkpoints", "train/cats/.DS_Store", "train/cats/Thumbs.db", "train/cats/._cat.train.0.jpg",
            "validation/dogs/desktop.ini", "train/cats/.ipynb_checkpoints"} <= removed
    assert not [p for p in dataset.root.rglob("*") if p.name.startswith(".") and p.name != data.MARKER_NAME]
    assert _keras_classes(dataset.train_dir) == {"cats": 0, "dogs": 1}
    assert {r["path"] for r in _report_rows(ws) if r["action"].startswith("removed")} == removed
    assert (image_set / "train" / ".ipynb_checkpoints").exists(), "the caller's folder is never changed"


def test_a_third_class_folder_is_refused(image_set, ws):
    shutil.copytree(image_set / "train" / "cats", image_set / "train" / "birds")
    with pytest.raises(DataError, match=r"exactly 2 class folders.*found 3: birds/, cats/, dogs/"):
        prepare_dataset(image_set, ws)
    assert _leftovers(ws) == []


def test_stray_files_beside_the_class_folders_are_quarantined(image_set, ws):
    shutil.copy(image_set / "train" / "cats" / "cat.train.0.jpg", image_set / "train" / "stray.jpg")
    (image_set / "validation" / "README.txt").write_text("notes")
    dataset = prepare_dataset(image_set, ws)
    quarantined = {issue.path: issue.problem for issue in dataset.quarantined}
    assert "not in a class folder" in quarantined["train/stray.jpg"]
    assert "validation/README.txt" in quarantined
    assert (ws.data / "quarantine" / "train" / "stray.jpg").exists()


def test_too_few_photos_per_class_are_refused_with_the_minimum(image_set, ws):
    for extra in sorted((image_set / "validation" / "dogs").iterdir())[2:]:
        extra.unlink()
    expected = r"validation/dogs/ holds only 2 usable image\(s\).*at least 8 per class in train/, 4 per class in validation/"
    with pytest.raises(DataError, match=expected):
        prepare_dataset(image_set, ws)


def test_an_empty_zip_is_refused(ws, tmp_path):
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(DataError, match="empty zip archive"):
        prepare_dataset(empty, ws)
    assert _leftovers(ws) == []


def _patch_zip(archive: Path, *, flag_bits: int | None = None, method: int | None = None) -> None:
    """Set the encryption flag or the compression method of every entry, in the local and central headers."""
    raw = bytearray(archive.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (start := raw.find(signature, start)) != -1:
            if flag_bits is not None:
                raw[start + flag_at:start + flag_at + 2] = flag_bits.to_bytes(2, "little")
            if method is not None:
                raw[start + method_at:start + method_at + 2] = method.to_bytes(2, "little")
            start += 4
    archive.write_bytes(bytes(raw))


@pytest.mark.parametrize("patch, message", [
    ({"flag_bits": 1}, "password-protected"),
    ({"method": 9}, "compression method Python cannot read"),
], ids=["encrypted", "deflate64"])
def test_archives_python_cannot_read_get_a_message(image_set, ws, tmp_path, patch, message):
    archive = tmp_path / "odd.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for path in sorted(image_set.rglob("*.jpg")):
            zf.write(path, path.relative_to(image_set.parent).as_posix())
    _patch_zip(archive, **patch)
    with pytest.raises(DataError, match=message):
        prepare_dataset(archive, ws)
    assert _leftovers(ws) == []


def test_entries_the_disk_cannot_hold_get_a_message(image_archive, ws, tmp_path):
    archive = tmp_path / "long.zip"
    shutil.copy(image_archive, archive)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("cats_and_dogs_filtered/train/cats/" + "x" * 300 + ".jpg", b"data")
    with pytest.raises(DataError, match="cannot be written on this computer's disk"):
        prepare_dataset(archive, ws)
    assert _leftovers(ws) == []


def test_a_file_where_a_folder_should_be_gets_a_message(image_archive, ws, tmp_path):
    archive = tmp_path / "clash.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cats_and_dogs_filtered/train", b"a file, not a folder")
        with zipfile.ZipFile(image_archive) as good:
            for info in good.infolist():
                zf.writestr(info, good.read(info))
    with pytest.raises(DataError, match="a file where a folder should be"):
        prepare_dataset(archive, ws)
    assert _leftovers(ws) == []


def test_a_source_folder_that_loops_is_refused(image_set, ws):
    (image_set / "train" / "cats" / "again").symlink_to(image_set, target_is_directory=True)
    with pytest.raises(DataError, match="loops: train/cats/again"):
        prepare_dataset(image_set, ws)
    assert _leftovers(ws) == []


def test_a_zip_bomb_is_refused_before_anything_is_extracted(image_archive, ws, tmp_path):
    bomb = tmp_path / "bomb.zip"
    shutil.copy(image_archive, bomb)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("cats_and_dogs_filtered/train/cats/huge.bmp", b"\0" * 30_000_000)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(DataError, match="zip bomb"):
        prepare_dataset(bomb, ws)
    assert _leftovers(ws) == []


def test_a_data_set_over_the_size_limit_is_refused(image_archive, image_set, ws, monkeypatch):
    monkeypatch.setattr(data, "MAX_DATA_BYTES", 10_000)
    with pytest.raises(DataError, match="would unpack to .*the limit is"):
        prepare_dataset(image_archive, ws)
    with pytest.raises(DataError, match="holds more than"):
        prepare_dataset(image_set, ws)
    assert _leftovers(ws) == []


def test_staging_folders_of_a_killed_run_are_removed(image_archive, ws):
    dead = ws.data / ".staging-999999999-abc"  # no such process
    old_style = ws.data / ".staging-k2j3h4"
    for folder in (dead, old_style):
        (folder / "extracted").mkdir(parents=True)
        (folder / "extracted" / "big.bin").write_bytes(b"x" * 1000)
    alive = ws.data / f".staging-{os.getppid()}-xyz"  # a process that is running: left alone
    alive.mkdir()
    prepare_dataset(image_archive, ws)
    assert not dead.exists() and not old_style.exists() and alive.exists()


def test_16_bit_and_float_images_are_rewritten_as_8_bit_and_load_mid_grey(image_set, ws):
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    cats = image_set / "train" / "cats"
    Image.fromarray(np.full((40, 40), 32768, np.uint16)).save(cats / "cat.grey16.png")
    Image.fromarray(np.full((40, 40), 0.5, np.float32)).save(cats / "cat.float.tif")
    dataset = prepare_dataset(image_set, ws)
    notes = {Path(i.path).name: (i.problem, i.action) for i in dataset.issues}
    assert notes["cat.grey16.png"] == ("16-bit pixels scaled to 8-bit RGB", "kept: rewritten as 8-bit RGB in this copy")
    assert notes["cat.float.tif"][0] == "floating-point pixels scaled to 8-bit RGB"
    for name in ("cat.grey16.png", "cat.float.tif"):
        folder = ws.root / "only" / name / "cats"
        folder.mkdir(parents=True)
        shutil.copy(dataset.train_dir / "cats" / name, folder)
        images, _ = next(ImageDataGenerator(rescale=1 / 255).flow_from_directory(
            folder.parent, target_size=(8, 8), batch_size=1, class_mode="binary"))
        assert images.mean() == pytest.approx(128 / 255, abs=0.01), name
    assert Image.open(image_set / "train" / "cats" / "cat.grey16.png").mode == "I;16", "the caller's file is kept"


def test_formats_outside_the_documented_list_are_quarantined(image_set, ws):
    cats = image_set / "train" / "cats"
    (cats / "cat.eps.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    Image.new("RGB", (40, 40), "red").save(cats / "cat.webp")
    Image.new("RGB", (40, 40), "red").save(cats / "cat.ppm")
    dataset = prepare_dataset(image_set, ws)
    quarantined = {Path(i.path).name: i.problem for i in dataset.quarantined}
    assert "not an image this tool reads" in quarantined["cat.eps.jpg"]
    assert "Keras' flow_from_directory skips this format" in quarantined["cat.webp"]
    assert "not an image file (.ppm" in quarantined["cat.ppm"]


def test_the_quarantine_report_holds_no_machine_paths(messy_set, ws, tmp_path):
    prepare_dataset(messy_set, ws)
    report = (ws.data / "quarantine" / "report.csv").read_text()
    assert str(tmp_path) not in report and "/tmp/" not in report and ".staging" not in report


def test_a_data_folder_that_is_a_file_gets_a_message(tmp_path):
    from catsdogs.paths import WorkspaceError, workspace

    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "data").write_text("oops")
    with pytest.raises(WorkspaceError, match="data is a file"):
        workspace(tmp_path / "work")


# --------------------------------------------------------------------------- Google's two addresses


def test_the_official_addresses_are_tried_in_order(image_archive, ws, tmp_path):
    missing = (tmp_path / "moved" / "cats_and_dogs_filtered.zip").as_uri()
    archive = data.fetch_official_archive(ws.downloads, (missing, image_archive.as_uri()))
    assert archive == ws.downloads / "cats_and_dogs_filtered.zip"
    assert archive.read_bytes() == image_archive.read_bytes()


def test_when_every_address_fails_the_message_lists_them(ws, tmp_path):
    page = tmp_path / "page.zip"
    page.write_text("<html>moved</html>")  # an error page served in place of the archive
    missing = (tmp_path / "gone.zip").as_uri()
    with pytest.raises(DataError) as error:
        data.fetch_official_archive(ws.downloads, (missing, page.as_uri()))
    message = str(error.value)
    assert missing in message and page.as_uri() in message and "not a zip archive" in message
    assert data.DATA_ENV in message
    assert list(ws.downloads.iterdir()) == []


def test_google_current_address_comes_first():
    assert data.OFFICIAL_URLS[0].startswith("https://download.mlcc.google.com/")
    assert data.OFFICIAL_URLS[1].startswith("https://storage.googleapis.com/")


def test_an_archive_with_too_many_entries_is_refused(image_archive, ws, monkeypatch):
    monkeypatch.setattr(data, "MAX_ENTRIES", 10)
    with pytest.raises(DataError, match="entries; the limit is 10"):
        prepare_dataset(image_archive, ws)
    assert _leftovers(ws) == []


def test_a_refused_source_leaves_the_data_prepared_before_untouched(image_archive, image_set, ws, tmp_path):
    good = prepare_dataset(image_archive, ws)
    marker = (good.root / data.MARKER_NAME).read_text()
    files = sorted(p.relative_to(good.root) for p in good.root.rglob("*"))
    shutil.copytree(image_set / "train" / "cats", image_set / "train" / "birds")  # a third class: refused
    with pytest.raises(DataError, match="exactly 2 class folders"):
        prepare_dataset(image_set, ws)
    assert (good.root / data.MARKER_NAME).read_text() == marker
    assert sorted(p.relative_to(good.root) for p in good.root.rglob("*")) == files
    assert _leftovers(ws) == ["cats_and_dogs_filtered"]
