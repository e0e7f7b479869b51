"""Single-image preprocessing and the command-line prediction, good and bad inputs."""

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
    code = predict.main([*map(str, args)])
    out, err = capsys.readouterr()
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
    code, lines, err = _run(capsys, photo, "--workdir", tmp_path / "empty_ws")
    assert code == 2 and lines == []
    assert "run 01_data.ipynb first" in err


def test_cli_with_a_damaged_model_file_says_so(tiny_workspace, tmp_path, capsys):
    bad_model = tmp_path / "bad.keras"
    bad_model.write_text("not a model")
    photo = sorted((tiny_workspace.root / "photos").iterdir())[0]
    code, _, err = _run(capsys, photo, "--model", bad_model, "--workdir", tiny_workspace.root)
    assert code == 2 and "could not be loaded" in err and "03_training" in err


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
