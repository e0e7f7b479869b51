"""Finding the MobileNetV2 weights: parameter, environment variable, Keras cache, download, clear errors.

Nothing here touches the network: downloads come from ``file://`` addresses or fail on purpose.
"""

from __future__ import annotations

import socket
from pathlib import Path

import h5py
import numpy as np
import pytest

from catsdogs import pretrained
from catsdogs.pretrained import WEIGHTS_ENV, WeightsError, resolve_weights

SHARED_WEIGHTS = (Path(__file__).resolve().parents[2] / "shared" / "keras-weights"
                  / "mobilenet_v2_1.0_224_no_top_reconstructed.h5")


def fake_weights(path: Path, layer_names=("Conv1", "bn_Conv1", "Conv_1", "Conv_1_bn")) -> Path:
    """A small HDF5 file laid out like a Keras legacy weights file (no real weights)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = [name.encode() for name in layer_names]
        for name in layer_names:
            h5.create_group(name).create_dataset(f"{name}/kernel:0", data=np.zeros(3, "float32"))
    return path


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras home, no weights variable, and no network."""
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)

    def no_network(*args, **kwargs):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    return home


def test_official_names_use_224_for_sizes_without_their_own_file():
    assert pretrained.official_file_name(160) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
    assert pretrained.official_file_name(150) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    assert pretrained.official_file_name(64) == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def test_cache_folder_follows_keras_home(keras_home):
    assert pretrained.keras_cache_dir() == keras_home / "models"


@pytest.mark.parametrize("weights", [None, "none", "None", ""])
def test_no_weights_means_random_initial_weights(weights, keras_home, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, "/no/such/file.h5")  # ignored: random weights need no file
    resolved = resolve_weights(weights, 64)
    assert resolved.weights is None and not resolved.pretrained


def test_cache_hit_is_used_without_downloading(keras_home, monkeypatch):
    cached = fake_weights(keras_home / "models" / pretrained.official_file_name(150))
    monkeypatch.setattr(pretrained, "_download", lambda *a, **k: pytest.fail("must not download"))
    resolved = resolve_weights("imagenet", 150)
    assert resolved.weights == str(cached) and "Keras cache" in resolved.source


def test_environment_variable_wins_over_the_cache(keras_home, tmp_path, monkeypatch):
    fake_weights(keras_home / "models" / pretrained.official_file_name(150))
    local = fake_weights(tmp_path / "classroom" / "mobilenet_copy.h5")
    monkeypatch.setenv(WEIGHTS_ENV, str(local))
    resolved = resolve_weights("imagenet", 150)
    assert resolved.weights == str(local) and WEIGHTS_ENV in resolved.source


def test_a_path_as_parameter_is_used_as_it_is(keras_home, tmp_path):
    local = fake_weights(tmp_path / "weights.h5")
    assert resolve_weights(str(local), 150).weights == str(local)


def test_environment_variable_pointing_nowhere_is_named(keras_home, tmp_path, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "missing.h5"))
    with pytest.raises(WeightsError, match=f"\\${WEIGHTS_ENV} points at .*missing.h5 does not exist"):
        resolve_weights("imagenet", 150)


def test_missing_file_without_network_says_which_file_goes_where(keras_home):
    with pytest.raises(WeightsError) as error:
        resolve_weights("imagenet", 150)
    message = str(error.value)
    assert "downloading them failed" in message
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5" in message
    assert str(keras_home / "models") in message
    assert WEIGHTS_ENV in message
    assert list((keras_home / "models").glob("*.h5")) == []  # no half file left behind
    # Jupyter shows the message, not a stack trace
    assert error.value._render_traceback_() == [f"WeightsError: {message}"]


def test_no_download_when_downloads_are_off(keras_home, monkeypatch):
    monkeypatch.setattr(pretrained, "_download", lambda *a, **k: pytest.fail("must not download"))
    with pytest.raises(WeightsError, match="(?s)not in the Keras cache.*_1.0_160_no_top.h5"):
        resolve_weights("imagenet", 160, download=False)


def test_download_goes_into_the_cache_and_is_reused(keras_home, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    fake_weights(mirror / pretrained.official_file_name(160))
    resolved = resolve_weights("imagenet", 160, base_url=mirror.as_uri() + "/")
    cached = keras_home / "models" / pretrained.official_file_name(160)
    assert resolved.weights == str(cached) and cached.exists() and "downloaded" in resolved.source
    assert resolve_weights("imagenet", 160, base_url="file:///nowhere/").weights == str(cached)
    assert [p.name for p in keras_home.rglob("*.h5")] == [cached.name]


@pytest.mark.parametrize("content, message", [
    (b"<html>Access denied</html>", "not an HDF5 weights file"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "cannot be read as HDF5"),
])
def test_damaged_or_wrong_cached_files_are_named(keras_home, content, message):
    cached = keras_home / "models" / pretrained.official_file_name(224)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(content)
    with pytest.raises(WeightsError, match=message):
        resolve_weights("imagenet", 224)


def test_the_file_with_the_imagenet_classifier_is_refused(keras_home, tmp_path):
    full = fake_weights(tmp_path / "full.h5", ("Conv1", "Conv_1", "Logits"))
    with pytest.raises(WeightsError, match="_no_top.h5"):
        resolve_weights(str(full), 224)


def test_a_keras3_weights_name_is_refused(keras_home, tmp_path):
    renamed = fake_weights(tmp_path / "mobilenet.weights.h5")
    with pytest.raises(WeightsError, match="must end in .h5"):
        resolve_weights(str(renamed), 224)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_WEIGHTS.exists(), reason="the offline copy of the weights is not beside the repo")
def test_the_shared_offline_weights_load_at_150_pixels(keras_home, monkeypatch):
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    import keras

    monkeypatch.setenv(WEIGHTS_ENV, str(SHARED_WEIGHTS))
    resolved = resolve_weights("imagenet", 150)
    base = keras.applications.MobileNetV2(input_shape=(150, 150, 3), include_top=False, weights=resolved.weights)
    assert base.count_params() == 2_257_984
    variance = keras.ops.convert_to_numpy(base.get_layer("Conv_1_bn").moving_variance)
    assert not np.allclose(variance, 1.0)  # trained statistics, not the initial ones
