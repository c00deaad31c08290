"""Offline dataset loaders (IDX, CIFAR python batches, SVHN .mat, bundled MNIST 5k) and augmentation."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.io import savemat

from spikealign.deep import data as dm
from spikealign.errors import UserError


def _images(rng, n, *shape):
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip_and_mnist_layout(tmp_path, gz):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": _images(rng, 12, 28, 28),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 12, dtype=np.uint8),
        "t10k-images-idx3-ubyte": _images(rng, 5, 28, 28),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 5, dtype=np.uint8),
    }
    folder = tmp_path / "MNIST" / "raw"  # torchvision's layout
    folder.mkdir(parents=True)
    for stem, arr in arrays.items():
        dm.write_idx(folder / (stem + (".gz" if gz else "")), arr)
    np.testing.assert_array_equal(
        dm.read_idx(folder / ("train-images-idx3-ubyte" + (".gz" if gz else ""))), arrays["train-images-idx3-ubyte"]
    )
    ds = dm.load_dataset("mnist", tmp_path)
    assert ds.train_x.shape == (12, 1, 28, 28) and ds.train_x.dtype == torch.uint8
    np.testing.assert_array_equal(ds.train_x[:, 0].numpy(), arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.test_y.numpy(), arrays["t10k-labels-idx1-ubyte"].astype(np.int64))
    assert (ds.in_channels, ds.image_size) == (1, 28)
    assert dm.dataset_locations(tmp_path)["mnist"] == str(folder)


def test_idx_bad_magic_is_user_error(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(UserError, match="not an IDX file"):
        dm.read_idx(p)


def test_fmnist_from_folder(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for stem, n in [("train", 4), ("t10k", 3)]:
        dm.write_idx(folder / f"{stem}-images-idx3-ubyte.gz", _images(rng, n, 28, 28))
        dm.write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    ds = dm.load_dataset("fmnist", tmp_path)
    assert ds.name == "fmnist" and len(ds.train_y) == 4 and len(ds.test_y) == 3
    assert ds.mean == (0.29,) and ds.std == (0.32,)


def test_cifar_python_batches(tmp_path):
    rng = np.random.default_rng(2)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    expected = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        x = _images(rng, 3, 3 * 32 * 32)
        y = list(rng.integers(0, 10, 3))
        expected.append((x, y))
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": x, b"labels": y, b"batch_label": name.encode()}, fh)
    ds = dm.load_dataset("cifar10", tmp_path)
    assert ds.train_x.shape == (15, 3, 32, 32) and ds.test_x.shape == (3, 3, 32, 32)
    # row layout: 1024 red, 1024 green, 1024 blue values, each row-major 32 x 32
    x0 = expected[0][0][1]
    assert int(ds.train_x[1, 2, 5, 7]) == int(x0[2 * 1024 + 5 * 32 + 7])
    np.testing.assert_array_equal(ds.test_y.numpy(), np.array(expected[-1][1]))
    assert (ds.in_channels, ds.image_size) == (3, 32)


def test_svhn_mat_files(tmp_path):
    rng = np.random.default_rng(3)
    folder = tmp_path / "svhn"
    folder.mkdir()
    mats = {}
    for split, n in [("train", 6), ("test", 4)]:
        X = _images(rng, 32, 32, 3, n).reshape(32, 32, 3, n)
        y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
        y[0, 0] = 10
        mats[split] = (X, y)
        savemat(folder / f"{split}_32x32.mat", {"X": X, "y": y})
    ds = dm.load_dataset("svhn", tmp_path)
    X, y = mats["train"]
    assert ds.train_x.shape == (6, 3, 32, 32)
    assert int(ds.train_x[2, 1, 4, 9]) == int(X[4, 9, 1, 2])  # X[row, col, channel, image]
    assert int(ds.train_y[0]) == 0  # label 10 means digit 0
    np.testing.assert_array_equal(ds.train_y[1:].numpy(), y[1:, 0].astype(np.int64))
    assert ds.train_y.min() >= 0 and ds.train_y.max() <= 9


def test_bundled_mnist5k_split():
    ds = dm.load_dataset("mnist5k")
    assert ds.train_x.shape == (4000, 1, 28, 28) and ds.test_x.shape == (1000, 1, 28, 28)
    assert torch.bincount(ds.train_y).tolist() == [400] * 10
    assert torch.bincount(ds.test_y).tolist() == [100] * 10
    assert ds.train_x.dtype == torch.uint8 and int(ds.train_x.max()) == 255
    # digits are centred: the border pixels are dark on average, the centre bright
    assert float(ds.train_x[:, :, :2].float().mean()) < 5 < float(ds.train_x[:, :, 10:18, 10:18].float().mean())
    train_idx, test_idx = dm.split_mnist5k(5000)
    assert len(set(train_idx) & set(test_idx)) == 0 and len(train_idx) + len(test_idx) == 5000


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn", "fmnist"])
def test_missing_dataset_names_what_to_do(tmp_path, monkeypatch, name):
    monkeypatch.setattr(dm, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    with pytest.raises(UserError, match=f"dataset '{name}' not found") as info:
        dm.load_dataset(name, tmp_path)
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path) in msg
    assert {"mnist": "IDX", "cifar10": "cifar-10-batches-py", "svhn": "train_32x32.mat", "fmnist": "apt-get"}[
        name
    ] in msg


def test_unknown_dataset():
    with pytest.raises(UserError, match="allowed: mnist5k"):
        dm.load_dataset("imagenet")


def test_dataset_locations_lists_every_dataset(tmp_path):
    locs = dm.dataset_locations(tmp_path)
    assert set(locs) == set(dm.DATASETS)
    assert locs["mnist5k"] is not None and locs["cifar10"] is None


def test_normalise_constants():
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    out = dm.normalise(x, (0.49, 0.48, 0.44), (0.20, 0.20, 0.20))
    torch.testing.assert_close(out[0, :, 0, 0], torch.tensor([(1 - 0.49) / 0.2, (1 - 0.48) / 0.2, (1 - 0.44) / 0.2]))


def test_random_crop_is_a_shifted_window_of_the_padded_image():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.uint8).reshape(2, 1, 6, 6) + 1
    g = torch.Generator().manual_seed(0)
    out = dm.random_crop(x, 2, g)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for n in range(2):
        matches = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(padded[n, :, dy : dy + 6, dx : dx + 6], out[n])
        ]
        assert len(matches) == 1


def test_random_crop_offsets_cover_all_positions():
    x = torch.ones(2000, 1, 4, 4, dtype=torch.uint8)
    out = dm.random_crop(x, 1, torch.Generator().manual_seed(1))
    # the crop keeps a zero row on top iff dy = 0: P = 1/3, 2000 draws -> 667 +- 21 (binomial sd)
    top_zero = int((out[:, 0, 0, :].sum(1) == 0).sum())
    assert abs(top_zero - 2000 / 3) < 5 * (2000 * (1 / 3) * (2 / 3)) ** 0.5


def test_flip_mirrors_about_half_the_images():
    x = torch.arange(16, dtype=torch.uint8).reshape(1, 1, 4, 4).repeat(1000, 1, 1, 1)
    out = dm.random_hflip(x, torch.Generator().manual_seed(2))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert bool((flipped | same).all())
    # binomial(1000, 0.5): sd 15.8; 5 sd bound
    assert abs(int(flipped.sum()) - 500) < 80


def test_missing_dataset_is_a_config_error_and_nothing_is_written(tmp_path, capsys):
    from spikealign.cli import main

    cfg = tmp_path / "deep.yaml"
    cfg.write_text(f"kind: deep\ndataset: svhn\ndata_dir: {tmp_path / 'empty'}\n")
    out = tmp_path / "run"
    assert main(["run", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "dataset 'svhn' not found" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
