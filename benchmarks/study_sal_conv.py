"""Study: SAL on conv and FC feedback (``sal_conv``) vs ``sal`` (FC only), ``bp_w_fa`` and ``bp``.

The ConvNet (logits, cross-entropy) on the MNIST 5k subset (4,000 training / 1,000 test images) or the
first 4,000 / 1,000 Fashion-MNIST images (``--dataset fmnist``; Debian's dataset-fashion-mnist),
SGD lr 0.01, momentum 0.9, batch 128, the same seed and forward initialisation for every method.
Reported per epoch: test accuracy and the angle between conv2's weight and the feedback its
backward pass uses (conv1's feedback is never used: its input is the image), and fc1's angle.

The SAL phases are shortened for 2 busy cores (``--quick``: shorter still): 3 iterations of
100 t_ref with 8 replicas and eta = 0.2 before every epoch, the same for ``sal`` and ``sal_conv``
(the paper's phase is 5 x 200 t_ref with 32 replicas and eta = 0.04).  ``sal_conv`` drives conv2
and fc1-3 (``SALConvEstimator([conv2, fc1, fc2, fc3])``: maps 64x8x8 -> 64x4x4 -> 384 -> 192 -> 10).

Usage: ``PYTHONPATH=src python benchmarks/study_sal_conv.py [--quick] [--epochs N] [--seed S] [--dataset D]``;
writes ``benchmarks/results/sal_conv_study.json`` (``sal_conv_study_fmnist.json`` for Fashion-MNIST).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from spikealign.deep import alignment_metrics
from spikealign.deep.data import NORMALISATION, load_dataset, normalise
from spikealign.deep.estimators import make_estimator
from spikealign.deep.estimators.sal_conv import SALConvEstimator
from spikealign.deep.methods import Method
from spikealign.deep.model import ConvNet

#: method -> (conv feedback kind, FC feedback kind, estimator)
METHODS = {
    "bp": ("bp", "bp", None),
    "bp_w_fa": ("fa", "bp", None),
    "sal": ("fa", "fa", "sal"),
    "sal_conv": ("fa", "fa", "sal_conv"),
}
#: images per dataset: MNIST 5k's split (4,000 / 1,000); Fashion-MNIST is cut to the same sizes
N_TRAIN, N_TEST = 4000, 1000


def _angle(layer) -> float:
    return alignment_metrics(layer.weight, layer.effective_feedback())["angle"]


def _accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[i : i + 500]).argmax(1) == y[i : i + 500]).sum()) for i in range(0, len(y), 500))
    return correct / len(y)


def run_method(name: str, epochs: int, seed: int, sal_settings: dict, dataset: str = "mnist5k") -> dict:
    conv_kind, fc_kind, estimator = METHODS[name]
    gens = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    model = ConvNet(1, 28, Method(name, conv_kind, fc_kind), softmax_output=False, generator=gens[0],
                    feedback_generator=gens[1])  # fmt: skip
    est = None
    if estimator == "sal":
        est = make_estimator("sal", model.fc_layers, sal_settings, seed)
    elif estimator == "sal_conv":
        est = SALConvEstimator([model.conv2, *model.fc_layers], sal_settings, seed)
    data, (mean, std) = load_dataset(dataset), NORMALISATION[dataset]
    xtr, ytr = normalise(data.train_x[:N_TRAIN], mean, std), data.train_y[:N_TRAIN]
    xte, yte = normalise(data.test_x[:N_TEST], mean, std), data.test_y[:N_TEST]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    order = torch.Generator().manual_seed(seed + 2)
    hist = {"test_acc": [], "conv2_angle": [_angle(model.conv2)], "fc1_angle": [_angle(model.fc1)], "sal_s": []}
    for epoch in range(epochs):
        t0 = time.perf_counter()
        if est is not None:
            est.before_epoch(epoch)
        hist["sal_s"].append(time.perf_counter() - t0)
        model.train()
        perm = torch.randperm(len(ytr), generator=order)
        for i in range(0, len(ytr), 128):
            idx = perm[i : i + 128]
            opt.zero_grad()
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        hist["test_acc"].append(_accuracy(model, xte, yte))
        hist["conv2_angle"].append(_angle(model.conv2))
        hist["fc1_angle"].append(_angle(model.fc1))
    return hist


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dataset", choices=["mnist5k", "fmnist"], default="mnist5k")
    args = ap.parse_args()
    torch.set_num_threads(1)
    epochs = args.epochs or (2 if args.quick else 3)
    sal_settings = {"n_iterations": 3, "len_epoch": 30 if args.quick else 100, "batch_size": 8, "sal_lr": 0.2}
    out = {"dataset": args.dataset, "epochs": epochs, "seed": args.seed, "sal_settings": sal_settings, "methods": {}}
    for name in METHODS:
        out["methods"][name] = run_method(name, epochs, args.seed, sal_settings, args.dataset)
        print(name, json.dumps(out["methods"][name]), flush=True)
    suffix = "" if args.dataset == "mnist5k" else f"_{args.dataset}"
    path = Path(__file__).parent / "results" / f"sal_conv_study{suffix}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
