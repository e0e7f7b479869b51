"""Single-image preprocessing and the command-line prediction, good and bad inputs."""

import shutil

import numpy as np
import pytest
from PIL import Image

from catsdogs import predict
from catsdogs.images import ImageInputError, label_for, load_for_model


def test_preprocessing_matches_the_training_generator(tiny_workspace, tmp_path):
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    folder = tmp_path / "one" / "cats"
    folder.mkdir(parents=True)
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    (folder / photo.name).write_bytes(photo.read_bytes())
    batch, _ = next(ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        tmp_path / "one", target_size=(48, 48), batch_size=1, class_mode="binary"))
    np.testing.assert_allclose(load_for_model(photo, (48, 48)), batch[0], atol=1e-6)


def test_labels_come_from_the_class_indices():
    assert label_for(0.9, {"cats": 0, "dogs": 1}) == "dogs"
    assert label_for(0.1, {"cats": 0, "dogs": 1}) == "cats"
    assert label_for(0.9, {"dogs": 0, "cats": 1}) == "cats"


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"just some text, not a photo", "not an image"),
])
def test_bad_bytes_are_refused_clearly(content, message):
    with pytest.raises(ImageInputError, match=message):
        load_for_model(content, (48, 48))


def _run(capsys, *args):
    """Exit code, the lines on stdout, and stderr without the line that says which model answers."""
    code = predict.main([*map(str, args)])
    out, err = capsys.readouterr()
    err = "".join(line for line in err.splitlines(keepends=True) if not line.startswith("model: "))
    return code, out.strip().splitlines(), err


def test_cli_predicts_files_and_folders(tiny_workspace, capsys):
    photos = tiny_workspace.root / "photos"
    code, lines, err = _run(capsys, photos, "--workdir", tiny_workspace.root)
    assert code == 0, err
    assert len(lines) == 4
    right = 0
    for line in lines:
        name, label, confidence = line.split("\t")
        assert label in {"cats", "dogs"} and 0.5 <= float(confidence) <= 1.0
        right += label[:-1] in name.rsplit("/", 1)[-1]
    assert right >= 3  # the tiny model learned the synthetic classes


def test_cli_reports_bad_inputs_and_goes_on(tiny_workspace, tmp_path, capsys):
    good = sorted((tiny_workspace.root / "photos").iterdir())[0]
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(good.read_bytes()[:200])
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    code, lines, err = _run(capsys, text, tmp_path / "missing.jpg", good, broken, empty_dir,
                            "--workdir", tiny_workspace.root)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(str(good))
    assert "notes.jpg: not an image" in err
    assert "missing.jpg: no such file" in err
    assert "broken.jpg: " in err and "damaged" in err.split("broken.jpg: ")[1].splitlines()[0]
    assert "a folder with no image files" in err
    assert "Traceback" not in err


def test_cli_without_a_model_says_which_notebook_to_run(tmp_path, capsys):
    photo = tmp_path / "cat.jpg"
    Image.new("RGB", (30, 30)).save(photo)
    (tmp_path / "empty_ws").mkdir()
    code, lines, err = _run(capsys, photo, "--workdir", tmp_path / "empty_ws")
    assert code == 2 and lines == []
    assert "run 01_data.ipynb first" in err
    assert list((tmp_path / "empty_ws").iterdir()) == [], "reading must not create folders"


def test_cli_with_a_workdir_that_does_not_exist_says_so_and_creates_nothing(tmp_path, capsys):
    photo = tmp_path / "cat.jpg"
    Image.new("RGB", (30, 30)).save(photo)
    code, lines, err = _run(capsys, photo, "--workdir", tmp_path / "typo")
    assert code == 2 and lines == [] and "does not exist" in err
    assert not (tmp_path / "typo").exists()


def test_cli_with_a_damaged_model_file_says_so(tiny_workspace, tmp_path, capsys):
    bad_model = tmp_path / "bad.keras"
    bad_model.write_text("not a model")
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, _, err = _run(capsys, photo, "--model", bad_model, "--workdir", tiny_workspace.root)
    assert code == 2 and "bad.keras is damaged" in err and "03_training" in err
    assert str(tmp_path) not in err, "no machine paths in messages"


def test_a_model_built_for_another_size_gets_its_own_size(tiny_workspace):
    """Notebook 07's model may take larger photos than the data configuration's: the model decides."""
    import keras

    from catsdogs import artifacts

    config = artifacts.load_data_config(tiny_workspace)
    assert config["image_size"] == [48, 48]
    model = keras.Sequential([keras.Input((40, 56, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    predictor = predict.Predictor(model, config)
    assert predictor.image_size == (40, 56)
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    assert predictor.preprocess(photo).shape == (40, 56, 3)
    assert 0.0 <= predictor.predict(photo).probability <= 1.0
    # a model that takes any size falls back to the data configuration
    any_size = keras.Sequential([keras.Input((None, None, 3)), keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(1, activation="sigmoid")])
    assert predict.Predictor(any_size, config).image_size == (48, 48)


def test_predictions_agree_with_the_layer_by_layer_call(tiny_workspace):
    predictor = predict.Predictor.load(workdir=tiny_workspace.root)
    photos = sorted((tiny_workspace.root / "photos").iterdir())
    batch = np.stack([predictor.preprocess(p) for p in photos])
    eager = np.asarray(predictor.model(batch, training=False)).reshape(-1)
    np.testing.assert_allclose(predictor.predict_arrays(batch), eager, atol=1e-5)
    assert predictor.predict_arrays(batch[:1]).shape == (1,)


def test_cli_one_hostile_file_is_one_line_and_the_others_go_on(tiny_workspace, tmp_path, capsys):
    good = sorted((tiny_workspace.root / "photos").iterdir())[:2]
    bomb = tmp_path / "bomb.png"
    Image.new("1", (30_000, 30_000)).save(bomb)  # a small file whose header claims 900 megapixels
    big = tmp_path / "big.bmp"
    Image.new("RGB", (20, 20)).save(big)
    raw = bytearray(big.read_bytes())
    raw[22] = 0x7F  # one flipped byte in the header: the height becomes two billion rows
    big.write_bytes(bytes(raw))
    eps = tmp_path / "drawing.eps"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    grey16 = tmp_path / "grey16.png"
    Image.fromarray(np.full((40, 40), 32768, np.uint16)).save(grey16)
    code, lines, err = _run(capsys, bomb, good[0], big, eps, grey16, good[1], "--workdir", tiny_workspace.root)
    assert code == 1
    assert [line.split("\t")[0] for line in lines] == [str(good[0]), str(grey16), str(good[1])]
    errors = err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)
    assert "bomb.png" in errors[0] and "megapixels" in errors[0]
    assert "big.bmp" in errors[1] and "drawing.eps: not an image this tool reads" in errors[2]
    assert "Traceback" not in err


def test_cli_folders_take_only_documented_formats_and_skip_hidden_entries(tiny_workspace, tmp_path, capsys):
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    folder = tmp_path / "album"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "nested").mkdir()
    for target in (folder / "a.jpg", folder / "nested" / "b.JPG", folder / ".ipynb_checkpoints" / "c.jpg",
                   folder / "._a.jpg", folder / "d.eps"):
        target.write_bytes(photo.read_bytes())
    (folder / "loop").symlink_to(folder, target_is_directory=True)
    code, lines, err = _run(capsys, folder, "--workdir", tiny_workspace.root)
    assert code == 0 and err == ""
    assert [line.split("\t")[0] for line in lines] == [str(folder / "a.jpg"), str(folder / "nested" / "b.JPG")]


def test_cli_a_model_with_the_wrong_output_is_refused(tiny_workspace, tmp_path, capsys):
    import keras

    two_outputs = keras.Sequential([keras.Input((48, 48, 3)), keras.layers.GlobalAveragePooling2D(),
                                    keras.layers.Dense(2, activation="softmax")])
    path = tmp_path / "softmax.keras"
    two_outputs.save(path)
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, lines, err = _run(capsys, photo, "--model", path, "--workdir", tiny_workspace.root)
    assert code == 2 and lines == []
    assert "softmax.keras has output shape (None, 2)" in err and "one sigmoid output" in err


def test_cli_a_mistyped_model_path_lists_the_models_there_are(tiny_workspace, tmp_path, capsys):
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, _, err = _run(capsys, photo, "--model", tmp_path / "bets.keras", "--workdir", tiny_workspace.root)
    assert code == 2
    assert "--model bets.keras: no such file" in err and "best.keras" in err and "run the earlier" not in err


@pytest.mark.parametrize("content, message", [
    ("{not json", "data_config.json is damaged: it is not valid JSON"),
    ('{"image_size": [48, 48]}', "data_config.json lacks 'train_dir'"),
    ("[1, 2]", "data_config.json is damaged: it holds a list"),
])
def test_cli_a_damaged_data_configuration_names_notebook_01(tiny_workspace, tmp_path, capsys, content, message):
    work = tmp_path / "work"
    shutil.copytree(tiny_workspace.root / "models", work / "models")
    (work / "models" / "data_config.json").write_text(content)
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, _, err = _run(capsys, photo, "--workdir", work)
    assert code == 2 and message in err and "01_data.ipynb" in err and "03_training" not in err


def test_cli_a_truncated_model_names_its_file_and_no_machine_path(tiny_workspace, tmp_path, capsys):
    work = tmp_path / "work"
    shutil.copytree(tiny_workspace.root / "models", work / "models")
    model = work / "models" / "best.keras"
    model.write_bytes(model.read_bytes()[:5000])
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, _, err = _run(capsys, photo, "--workdir", work)
    assert code == 2 and "models/best.keras is damaged" in err and "03_training.ipynb" in err
    assert str(tmp_path) not in err


def test_cli_answers_with_the_transfer_model_when_there_is_one_and_says_so(tiny_workspace, tmp_path, capsys):
    import keras

    work = tmp_path / "work"
    shutil.copytree(tiny_workspace.root / "models", work / "models")
    (work / "models" / "transfer.keras").unlink(missing_ok=True)
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    predict.main([str(photo), "--workdir", str(work)])
    assert "model: models/best.keras (the CNN at its best validation epoch, 03_training.ipynb)" in capsys.readouterr().err

    dense = keras.layers.Dense(1, activation="sigmoid", kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(9.0))
    always_dog = keras.Sequential([keras.Input((48, 48, 3)), keras.layers.GlobalAveragePooling2D(), dense])
    always_dog.save(work / "models" / "transfer.keras")
    code = predict.main([str(photo), "--workdir", str(work)])
    out, err = capsys.readouterr()
    assert code == 0 and "model: models/transfer.keras (MobileNetV2, fine-tuned, 07_transfer_learning.ipynb)" in err
    assert out.split("\t")[1] == "dogs", "the transfer model answered"
    predict.main([str(photo), "--workdir", str(work), "--model", str(work / "models" / "best.keras")])
    assert "model: models/best.keras" in capsys.readouterr().err, "--model still chooses"


@pytest.mark.parametrize("field, value", [
    ("rescale", float("nan")), ("rescale", 0), ("interpolation", "cubic"), ("class_mode", "categorical"),
    ("class_indices", {"cats": 0, "dogs": 1, "birds": 2}), ("image_size", [0, 48]), ("batch_size", True),
])
def test_cli_a_data_configuration_with_a_wrong_value_names_it(tiny_workspace, tmp_path, capsys, field, value):
    import json

    work = tmp_path / "work"
    shutil.copytree(tiny_workspace.root / "models", work / "models")
    path = work / "models" / "data_config.json"
    config = json.loads(path.read_text())
    config[field] = value
    path.write_text(json.dumps(config))
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, lines, err = _run(capsys, photo, "--workdir", work)
    assert code == 2 and lines == [] and f"wrong value for '{field}'" in err and "01_data.ipynb" in err


def test_cli_a_file_over_the_size_limit_is_one_line(tiny_workspace, tmp_path, capsys, monkeypatch):
    from catsdogs import images

    monkeypatch.setattr(images, "MAX_FILE_BYTES", 100)
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, lines, err = _run(capsys, photo, "--workdir", tiny_workspace.root)
    assert code == 1 and lines == [] and "the limit is 0.0001 MB" in err
