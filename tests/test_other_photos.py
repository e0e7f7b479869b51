"""Photos from other sources (notebook 08's test set): the Oxford rule, the checks, the offline message."""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catsdogs import other_photos
from catsdogs.data import DataError

from .conftest import synthetic_photo, zip_folder

CLASSES = ["cats", "dogs"]


def test_oxford_names_give_the_class_by_the_breed_s_first_letter():
    assert other_photos.oxford_label("Abyssinian_12.jpg") == ("cats", "Abyssinian")
    assert other_photos.oxford_label("images/British_Shorthair_3.jpg") == ("cats", "British_Shorthair")
    assert other_photos.oxford_label("american_pit_bull_terrier_190.jpg") == ("dogs", "american_pit_bull_terrier")
    for not_a_photo in ("Abyssinian_12.mat", "README", "._Abyssinian_1.jpg", "Abyssinian.jpg"):
        assert other_photos.oxford_label(not_a_photo) is None


def test_the_oxford_sample_takes_the_lowest_numbers_of_each_breed():
    names = [f"Bengal_{n}.jpg" for n in (100, 2, 11, 1, 30)] + [f"beagle_{n}.jpg" for n in (5, 50, 7)] + ["x.txt"]
    sample = other_photos.oxford_sample(names, per_breed={"cats": 3, "dogs": 2})
    assert sample == [("Bengal_1.jpg", "cats", "Bengal"), ("Bengal_2.jpg", "cats", "Bengal"),
                      ("Bengal_11.jpg", "cats", "Bengal"), ("beagle_5.jpg", "dogs", "beagle"),
                      ("beagle_7.jpg", "dogs", "beagle")]


def test_the_default_rule_gives_about_as_many_cats_as_dogs():
    # Oxford-IIIT Pet has 12 cat breeds and 25 dog breeds, about 200 photos each
    cat_breeds = [f"Cat_{chr(97 + i)}" for i in range(12)]
    dog_breeds = [f"dog_{chr(97 + i)}" for i in range(25)]
    names = [f"{breed}_{n}.jpg" for breed in cat_breeds + dog_breeds for n in range(1, 201)]
    labels = [label for _, label, _ in other_photos.oxford_sample(names)]
    assert labels.count("cats") == 96 and labels.count("dogs") == 100


def _oxford_like_archive(path: Path, per_breed: int = 10) -> Path:
    """A small images.tar.gz laid out like Oxford's: images/Breed_N.jpg, plus a .mat file and a damaged photo."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as tar:
        def add(name: str, payload: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))

        for breed, label in (("Bengal", 0), ("Sphynx", 0), ("beagle", 1), ("pug", 1), ("boxer", 1)):
            for n in range(1, per_breed + 1):
                buffer = io.BytesIO()
                synthetic_photo(label, 40, rng).save(buffer, format="JPEG")
                add(f"images/{breed}_{n}.jpg", buffer.getvalue() if (breed, n) != ("pug", 2) else b"broken")
        add("images/Abyssinian_100.mat", b"matlab")
    return path


def test_an_oxford_archive_is_sampled_checked_and_described(tmp_path, ws):
    archive = _oxford_like_archive(tmp_path / "images.tar.gz")
    test_set = other_photos.prepare_other_photos(archive.as_uri(), ws, CLASSES)
    assert test_set.root == ws.data / "other_photos"
    # 8 of each cat breed, 4 of each dog breed, minus the damaged pug_2.jpg
    assert test_set.counts == {"cats": 16, "dogs": 11}
    assert [Path(i.path).name for i in test_set.quarantined] == ["pug_2.jpg"]
    assert sorted(p.name for p in (test_set.root / "cats").iterdir())[:3] == ["Bengal_1.jpg", "Bengal_2.jpg",
                                                                             "Bengal_3.jpg"]
    assert not (test_set.root / "cats" / "Bengal_9.jpg").exists()
    with open(test_set.root / "manifest.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 27 and {r["source_dataset"] for r in rows} == {"Oxford-IIIT Pet"}
    assert {r["breed"] for r in rows if r["class"] == "dogs"} == {"beagle", "pug", "boxer"}
    assert (ws.downloads / other_photos.OXFORD_ARCHIVE).exists(), "downloaded once into the cache"
    again = other_photos.prepare_other_photos(archive.as_uri(), ws, CLASSES)
    assert again.counts == test_set.counts and again.fingerprint == test_set.fingerprint


def test_a_folder_with_a_manifest_keeps_its_sources_and_licences(image_set, tmp_path, ws):
    folder = tmp_path / "elsewhere"
    for name in ("cats", "dogs"):
        (folder / name).mkdir(parents=True)
        for photo in sorted((image_set / "validation" / name).iterdir()):
            Image.open(photo).save(folder / name / f"commons_{photo.name}")
    (folder / "README.md").write_text("about this set")
    (folder / "cats" / ".DS_Store").write_bytes(b"junk")
    first = sorted((folder / "cats").glob("*.jpg"))[0].name
    (folder / "manifest.csv").write_text(f"file,source_dataset,licence\ncats/{first},Wikimedia Commons,CC BY 2.0\n")
    test_set = other_photos.prepare_other_photos(folder, ws, CLASSES)
    assert test_set.counts == {"cats": 6, "dogs": 6}
    row = next(r for r in test_set.manifest if r["file"] == f"cats/{first}")
    assert row["source_dataset"] == "Wikimedia Commons" and row["licence"] == "CC BY 2.0"
    others = [r for r in test_set.manifest if r["file"] != f"cats/{first}"]
    assert {r["source_dataset"] for r in others} == {"commons"} and {r["licence"] for r in others} == {""}
    assert (folder / "cats" / ".DS_Store").exists() and (folder / "README.md").exists(), "the source is never changed"
    assert str(tmp_path) not in test_set.source


def test_a_zip_with_other_classes_is_refused(image_set, tmp_path, ws):
    (image_set / "train").rename(image_set / "birds")
    shutil_root = image_set.parent / "set"
    (image_set / "validation").rename(shutil_root)
    archive = zip_folder(shutil_root, tmp_path / "set.zip")
    with pytest.raises(DataError, match=r"class folders \['cats', 'dogs'\]"):
        other_photos.prepare_other_photos(archive, ws, ["kittens", "puppies"])


def test_offline_the_message_says_how_to_point_at_a_copy_and_how_to_skip(tmp_path, ws, monkeypatch):
    monkeypatch.delenv(other_photos.ENV, raising=False)
    monkeypatch.setattr(other_photos, "OXFORD_URL", (tmp_path / "unreachable" / "images.tar.gz").as_uri())
    with pytest.raises(DataError) as error:
        other_photos.prepare_other_photos(None, ws, CLASSES)
    message = str(error.value)
    assert "Could not download" in message and other_photos.ENV in message
    assert "`photos` parameter of notebook 08" in message and "--only 01 02 03 04 05 06 07" in message
    assert list(ws.downloads.iterdir()) == []


def test_the_environment_variable_selects_the_photos(image_set, ws, monkeypatch):
    monkeypatch.setenv(other_photos.ENV, str(image_set / "validation"))
    assert other_photos.prepare_other_photos(None, ws, CLASSES).counts == {"cats": 6, "dogs": 6}


@pytest.mark.parametrize("licence, shown", [
    ("photo by Jason Douglas; public domain (credits in CatBreeds)", True),
    ("photo by Larisa Okhtienko; CC0 (credits in CatBreeds)", True),
    ("Wikimedia Commons File:X.jpg, by someone; CC BY 2.0", True),
    ("photo by Lachlan Rogers; CC BY-SA 2.0 (credits)", False),
    ("CC BY-SA 4.0 (Oxford-IIIT Pet Dataset, Parkhi et al. 2012)", False),
    ("CC BY-NC 4.0 (AFHQ dataset, NAVER Corp.)", False),
    ("ImageNet (ILSVRC) image: terms of access allow non-commercial research", False),
    ("GFDL", False),
    ("", False),
])
def test_only_photos_whose_licence_allows_it_are_shown(licence, shown):
    assert other_photos.may_show(licence) is shown
