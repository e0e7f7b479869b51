"""Photos from other sources: a test set for "does the model work on photos from elsewhere?".

Every number the notebooks report before notebook 08 comes from the validation photos, which
come from the same Kaggle/Petfinder pool as the training photos. :func:`prepare_other_photos`
gets a set of cat and dog photos from somewhere else, checks it exactly as the training data
is checked (``data.check_folder``: layout, decoding, quarantine), and puts it in
``data/other_photos/{cats,dogs}/`` with a ``manifest.csv`` that says where each photo comes
from and under which licence.

Sources, in this order: the ``source`` argument (notebook 08's ``photos`` parameter), the
environment variable ``CATSDOGS_OTHER_PHOTOS``, else the official Oxford-IIIT Pet images archive
(about 790 MB, downloaded once into ``data/downloads/`` and verified). A source is a folder (or
zip archive) with ``cats/`` and ``dogs/`` and optionally a ``manifest.csv`` (columns ``file``,
``source_dataset``, ``licence``), or the Oxford archive itself (``images.tar.gz``).

**The Oxford sample.** The archive holds 7,390 photos of 37 breeds, named ``Breed_Name_N.jpg``;
cat breeds start with a capital letter, dog breeds with a small one. The rule: for each breed,
the photos with the lowest numbers N, :data:`OXFORD_PER_BREED` of them (8 for each of the 12 cat
breeds, 4 for each of the 25 dog breeds: 96 cats and 100 dogs). Files that fail the checks are
quarantined, not replaced, so the rule stays simple to state and to repeat.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tarfile
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from . import data
from .data import DataError, ImageIssue
from .paths import Workspace

ENV = "CATSDOGS_OTHER_PHOTOS"
OXFORD_URL = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"
OXFORD_ARCHIVE = "oxford-iiit-pet-images.tar.gz"
#: The archive's MD5, as torchvision's OxfordIIITPet pins it (791,918,971 bytes).
OXFORD_MD5 = "5c4f3ee8e5d25df40f4fd59a7f44e54c"
OXFORD_LICENCE = "CC BY-SA 4.0 (Oxford-IIIT Pet, Parkhi et al. 2012); copyright stays with each photo's owner"
#: How many photos of each breed the Oxford sample takes: the lowest-numbered ones.
OXFORD_PER_BREED = {"cats": 8, "dogs": 4}
DIRNAME = "other_photos"
QUARANTINE = "quarantine-other_photos"
MANIFEST = "manifest.csv"
#: Fewest photos per class: fewer say nothing about a model.
MIN_IMAGES = {"": 4}
_OXFORD_NAME = re.compile(r"^(?P<breed>[A-Za-z_]+)_(?P<number>\d+)\.jpg$")


@dataclass
class TestSet:
    """A checked set of photos from other sources, in ``root/{cats,dogs}/``."""

    root: Path
    classes: list[str]
    counts: dict[str, int]
    source: str
    fingerprint: str
    manifest: list[dict[str, str]] = field(default_factory=list)  # file (class/name), source_dataset, breed, licence
    issues: list[ImageIssue] = field(default_factory=list)

    @property
    def quarantined(self) -> list[ImageIssue]:
        return [issue for issue in self.issues if issue.action == "quarantined"]


def offline_hint() -> str:
    return (
        "To use a local copy instead, either\n"
        f"  * set the environment variable {ENV} to a folder (or zip archive) with cats/ and dogs/,\n"
        "    or to the Oxford-IIIT Pet images.tar.gz you downloaded elsewhere, or\n"
        "  * pass it as the `photos` parameter of notebook 08, or\n"
        f"  * copy Oxford's images.tar.gz to data/downloads/{OXFORD_ARCHIVE}.\n"
        "On the project's own machines the copy is ../shared/datasets/other_sources.\n"
        "Without any of these, run the tutorial without notebook 08: it is the last one, and nothing depends on it "
        "(bash run_tutorial.sh --only 01 02 03 04 05 06 07)."
    )


# --------------------------------------------------------------------------- the Oxford archive


def oxford_label(filename: str) -> tuple[str, str] | None:
    """``("cats", "Abyssinian")`` for ``Abyssinian_12.jpg``; None for a name that is not an Oxford photo."""
    match = _OXFORD_NAME.match(PurePosixPath(filename).name)
    if not match:
        return None
    breed = match["breed"]
    return ("cats" if breed[0].isupper() else "dogs"), breed


def oxford_sample(filenames: list[str], per_breed: dict[str, int] | None = None) -> list[tuple[str, str, str]]:
    """The fixed sample: for each breed, the ``per_breed[class]`` photos with the lowest numbers.

    Returns ``(filename, class, breed)`` sorted by class, breed and number.
    """
    per_breed = per_breed or OXFORD_PER_BREED
    by_breed: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for name in filenames:
        label = oxford_label(name)
        if label is not None:
            by_breed[label].append((int(_OXFORD_NAME.match(PurePosixPath(name).name)["number"]), name))
    chosen = []
    for (label, breed), numbered in sorted(by_breed.items()):
        chosen += [(name, label, breed) for _, name in sorted(numbered)[: per_breed[label]]]
    return chosen


def fetch_oxford(downloads: Path, url: str = OXFORD_URL) -> Path:
    """Oxford's images archive from the cache, else downloaded once and checked against its known MD5."""
    archive = data.fetch_archive(url, downloads, filename=OXFORD_ARCHIVE, timeout=120, hint=offline_hint())
    if url == OXFORD_URL and data.digest_of(archive, "md5") != OXFORD_MD5:
        archive.unlink()
        raise DataError(f"The file downloaded from {url} is not the Oxford-IIIT Pet images archive (its MD5 differs "
                        f"from {OXFORD_MD5}): damaged, or changed at that address. It was deleted; run the cell "
                        f"again to retry.\n{offline_hint()}")
    return archive


def _extract_oxford_sample(archive: Path, into: Path) -> list[dict[str, str]]:
    """Extract the sample's photos from Oxford's tar archive into ``into/{cats,dogs}/``; their manifest rows."""
    try:
        with tarfile.open(archive) as tar:
            members = {PurePosixPath(m.name).name: m for m in tar.getmembers()
                       if m.isfile() and PurePosixPath(m.name).parent.name == "images"}
            sample = oxford_sample(sorted(members))
            if not sample:
                raise DataError(f"{archive.name} holds no photos named like Oxford-IIIT Pet's (images/Breed_N.jpg): "
                                f"it is not that archive.\n{offline_hint()}")
            rows = []
            for name, label, breed in sample:
                member = members[name]
                if member.size > data.MAX_DATA_BYTES // 100:
                    raise DataError(f"{archive.name}: {name} would be {member.size:,} bytes, not a photo.")
                source = tar.extractfile(member)
                target = into / label / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out)
                rows.append({"file": f"{label}/{name}", "source_dataset": "Oxford-IIIT Pet", "breed": breed,
                             "licence": OXFORD_LICENCE})
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(f"{archive.name} is damaged or not a tar archive ({error}). Delete it and download it "
                        f"again.\n{offline_hint()}") from None
    return rows


# --------------------------------------------------------------------------- folders and zip archives


def _read_manifest(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path.name} cannot be read as a CSV manifest ({error}). Fix or remove it.") from None
    if rows and "file" not in rows[0]:
        raise DataError(f"{path.name} has no 'file' column: a manifest lists each photo as cats/name.jpg or "
                        "dogs/name.jpg, with its source_dataset and licence.")
    return rows


def _source_of(filename: str) -> str:
    """A source name from a file name's prefix (``afhq_cat_1.jpg`` -> ``afhq``), else "unknown"."""
    stem = PurePosixPath(filename).name
    return stem.split("_", 1)[0] if "_" in stem else "unknown"


def _locate_classes_root(folder: Path) -> Path:
    """The folder that holds cats/ and dogs/: ``folder``, or its only sub-folder if that holds the class folders."""
    subfolders = [p for p in data._visible(folder.iterdir()) if p.is_dir()]
    if len(subfolders) == 1 and any(p.is_dir() for p in data._visible(subfolders[0].iterdir())):
        return subfolders[0]
    return folder


def _set_aside_top_files(root: Path, into: Path) -> list[Path]:
    """Move the files at the top of a set (manifest, README) aside: they describe the set, they are not photos."""
    moved = []
    for path in data._visible(root.iterdir()):
        if path.is_file():
            into.mkdir(parents=True, exist_ok=True)
            moved.append(Path(shutil.move(path, into / path.name)))
    return moved


# --------------------------------------------------------------------------- the whole step


def resolve_source(source: str | os.PathLike | None) -> str:
    return os.fspath(source or os.environ.get(ENV) or OXFORD_URL)


def prepare_other_photos(source: str | os.PathLike | None, ws: Workspace, class_names: list[str]) -> TestSet:
    """Get, check and put in place the photos from other sources; reuse them when the source has not changed.

    ``class_names`` are the training data's classes (``["cats", "dogs"]``): the set must have the same.
    Raises :class:`~catsdogs.data.DataError` with a message that says what to do, also offline.
    """
    data.remove_stale_staging(ws.data)
    chosen = resolve_source(source)
    oxford = None
    folder = archive = None
    if data.is_url(chosen):
        oxford = fetch_oxford(ws.downloads, chosen) if chosen.endswith((".tar.gz", ".tgz", ".tar")) else None
        archive = None if oxford else data.fetch_archive(chosen, ws.downloads, hint=offline_hint())
    else:
        path = data.local_source(chosen, ws, "Photos from other sources:", offline_hint())
        if path.is_dir():
            folder = _locate_classes_root(path)
        elif tarfile.is_tarfile(path):
            oxford = path
        else:
            archive = path
    if archive is not None:
        data.check_archive(archive)
    fingerprint = data.sha256_of(oxford or archive) if (oxford or archive) else data._folder_fingerprint(folder)

    final = ws.data / DIRNAME
    reused = _reuse(final, fingerprint)
    if reused is not None:
        return reused

    with data.staging_area(ws, "the photos") as staging:
        root = staging / "photos"
        manifest: list[dict[str, str]] = []
        if oxford is not None:
            manifest = _extract_oxford_sample(oxford, root)
        elif archive is not None:
            data._extract(archive, staging / "extracted")
            shutil.move(_locate_classes_root(staging / "extracted"), root)
        else:
            data._copy_folder(folder, root)
        for aside in _set_aside_top_files(root, staging / "about"):
            if aside.name == MANIFEST:
                manifest = _read_manifest(aside)
        quarantine = staging / "quarantine"
        counts, issues = data.check_folder(root, quarantine, splits=("",), minimum=MIN_IMAGES)
        counts = counts[""]
        if sorted(counts) != sorted(class_names):
            raise DataError(f"The photos from other sources are in the class folders {sorted(counts)}, but the models "
                            f"were trained on {sorted(class_names)}: name the folders the same.")
        kept = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
        described = {row["file"]: row for row in manifest}
        rows = [{"file": name, "class": name.split("/", 1)[0],
                 "source_dataset": described.get(name, {}).get("source_dataset") or _source_of(name),
                 "breed": described.get(name, {}).get("breed") or described.get(name, {}).get("breed_or_label", ""),
                 "licence": described.get(name, {}).get("licence", "")}
                for name in sorted(kept)]
        with open(root / MANIFEST, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["file", "class", "source_dataset", "breed", "licence"])
            writer.writeheader()
            writer.writerows(rows)
        test_set = TestSet(final, sorted(counts), counts, data._describe(chosen, ws), fingerprint, rows, issues)
        data.install(staging, root, asdict(test_set), final, ws.data / QUARANTINE)
        return test_set


def _reuse(final: Path, fingerprint: str) -> TestSet | None:
    marker = data._read_marker(final)
    if marker is None or marker.get("fingerprint") != fingerprint:
        return None
    try:
        return TestSet(final, marker["classes"], marker["counts"], marker["source"], fingerprint,
                       marker["manifest"], [ImageIssue(**issue) for issue in marker["issues"]])
    except (KeyError, TypeError):
        return None


# --------------------------------------------------------------------------- what may be shown


def may_show(licence: str) -> bool:
    """True when a photo's licence lets the project show it in a committed figure, with credit.

    Public domain, CC0 and CC BY: yes. Share-alike (the figure would have to carry the same
    licence), non-commercial terms, ImageNet's research-only terms, or no licence given: no.
    """
    text = licence.lower()
    if not text or "-nc" in text or " nc" in text or "non-commercial" in text or "imagenet" in text:
        return False
    if "-sa" in text or "share" in text or "gfdl" in text:
        return False
    return "public domain" in text or "cc0" in text or bool(re.search(r"cc by \d", text))
