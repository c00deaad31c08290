"""Training the ConvNet with a feedback method (docs/deep.md, 'Training'): loop, metrics, resume.

The run config is :class:`~spikealign.deep.config.DeepConfig`.

Protocol per epoch ``e = 0 .. n_epochs - 1``:

1. if the method has a spiking estimator: ``estimator.before_epoch(e)`` updates the FC feedback
   matrices in place; its returned numbers are logged as ``estimator/<key>`` and the alignment
   right after it as ``after_estimator/<layer>/<metric>`` (the reference's logging point);
2. one epoch of SGD (lr 0.01, momentum 0.9, batch 128, no schedule) on the shuffled, augmented
   training set, ``model.train()``;
3. test on the whole test set (``model.eval()``, no grad);
4. log mean train/test loss and accuracy (%) and, for conv2 and fc1-3, angle/var/corr/sign
   between W and the effective feedback; write ``metrics.json`` and a checkpoint.

``metrics.json``: ``initial`` (alignment before anything), ``epochs`` (one flat record per epoch:
``epoch``, ``train_loss``, ``train_accuracy``, ``test_loss``, ``test_accuracy``,
``train_images_per_s``, ``<layer>/{angle,var,corr,sign}``, and for estimator methods
``estimator/*`` and ``after_estimator/<layer>/*``), plus ``method``, ``dataset``, ``mode``,
``n_train``, ``n_test``, ``layer_sizes``.  Losses are means over images (the reference logged sums
of batch means).

Modes: ``faithful`` (the reference; paper configs) keeps softmax + cross-entropy, horizontal flips
on digit datasets and KP's decay of the forward weights; ``corrected`` feeds logits to the
cross-entropy, does not flip digits and decays only the KP mismatch.  Both keep the reference
architecture (BatchNorm after ReLU, no conv bias).

Kolen-Pollack (``kp`` layers): faithful mode = the reference: SGD weight decay ``kp_weight_decay``
on the kp layers' weights AND feedback (so the forward weights are decayed too; docs/deep.md, 'Training');
with identical gradients the mismatch obeys ``D <- D - lr * lambda * D`` (momentum-filtered).
Corrected mode: no decay on W; B's gradient gets ``+ kp_weight_decay * (B - W)``, which gives the
same geometric decay of ``D = W - B`` without regularising the forward weights.

Seeding: forward weights, feedback weights, data order/augmentation and the estimator each get
their own stream derived from the run seed, so one seed gives identical runs (on one device and
one thread count), and every method starts from the same forward weights for a given seed.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
import torch

from ..errors import UserError
from ..guards import NonFiniteError, check_finite
from ..runs import RunContext, structure_problem
from . import data as datamod
from .config import DeepConfig
from .methods import get_method
from .metrics import layer_alignment
from .model import ConvNet


# --------------------------------------------------------------------------- helpers
def resolve_device(choice: str) -> torch.device:
    if choice == "cuda" and not torch.cuda.is_available():
        raise UserError("device: 'cuda' requested but torch sees no CUDA device (use 'auto' or 'cpu')")
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(choice)


def torch_generator(ctx: RunContext, *names: str) -> torch.Generator:
    """A CPU torch generator seeded from the run's stream ``names``."""
    seed = int(ctx.seed_sequence(*names).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator().manual_seed(seed)


def _subset(
    x: torch.Tensor, y: torch.Tensor, n: int | None, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    if n is None or n >= len(y):
        return x, y
    idx = torch.from_numpy(np.sort(rng.permutation(len(y))[:n]))
    return x[idx], y[idx]


def build_optimizer(model: ConvNet, config: DeepConfig) -> torch.optim.SGD:
    """SGD(lr, momentum); faithful KP: weight decay on the kp layers' weight and feedback (reference)."""
    decayed: list[torch.nn.Parameter] = []
    if config.mode == "faithful" and config.kp_weight_decay > 0:
        for layer in (model.conv1, model.conv2, *model.fc_layers):
            if layer.kind == "kp":
                decayed += [layer.weight, layer._stored_feedback()]
    ids = {id(p) for p in decayed}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
    groups: list[dict[str, Any]] = [{"params": rest, "weight_decay": 0.0}]
    if decayed:
        groups.insert(0, {"params": decayed, "weight_decay": config.kp_weight_decay})
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)


def _kp_mismatch_decay(model: ConvNet, decay: float) -> None:
    """Corrected KP: ``B.grad += decay * (B - W)`` for every kp layer."""
    for layer in (model.conv1, model.conv2, *model.fc_layers):
        feedback = layer.feedback if layer.kind == "kp" else None
        if feedback is not None and feedback.grad is not None:
            feedback.grad.add_(feedback.detach() - layer.weight.detach(), alpha=decay)


def evaluate(model: ConvNet, x: torch.Tensor, y: torch.Tensor, ds: datamod.ImageDataset, batch: int, device):
    """Mean loss and accuracy (%) over ``x``, ``y`` in eval mode."""
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            xb = datamod.normalise(x[i : i + batch].to(device, non_blocking=True), ds.mean, ds.std)
            yb = y[i : i + batch].to(device)
            out = model(xb)
            total_loss += float(model.loss(out, yb)) * len(yb)
            correct += int((out.argmax(1) == yb).sum())
    return total_loss / len(y), 100.0 * correct / len(y)


def train_epoch(
    model: ConvNet,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    ds: datamod.ImageDataset,
    config: DeepConfig,
    generator: torch.Generator,
    device: torch.device,
    progress=None,
) -> tuple[float, float]:
    """One epoch of SGD over a shuffled, augmented pass of the training set; mean loss and accuracy (%)."""
    crop, flip = datamod.AUGMENTATION[ds.name]
    if ds.name in datamod.DIGITS and config.mode == "corrected":
        flip = False
    corrected_kp = config.mode == "corrected" and config.kp_weight_decay > 0
    model.train()
    perm = torch.randperm(len(y), generator=generator)
    total_loss, correct = 0.0, 0
    starts = range(0, len(y), config.batch_size)
    for i in progress(starts) if progress else starts:
        idx = perm[i : i + config.batch_size]
        xb = datamod.augment(x[idx], crop, flip, generator)  # uint8, on the CPU (CPU generator)
        xb = datamod.normalise(xb.to(device, non_blocking=True), ds.mean, ds.std)
        yb = y[idx].to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        loss = model.loss(out, yb)
        loss.backward()
        if corrected_kp:
            _kp_mismatch_decay(model, config.kp_weight_decay)
        optimizer.step()
        total_loss += float(loss.detach()) * len(yb)
        correct += int((out.detach().argmax(1) == yb).sum())
    return total_loss / len(y), 100.0 * correct / len(y)


def make_estimator(config: DeepConfig, model: ConvNet, ctx: RunContext, device: torch.device):
    """The method's spiking estimator (hook contract in :mod:`spikealign.deep.methods`), or ``None``."""
    method = get_method(config.method)
    if method.estimator is None:
        return None
    from . import estimators

    seed = int(ctx.seed_sequence("estimator").generate_state(1, dtype=np.uint64)[0])
    cls = estimators.ESTIMATORS.get(method.estimator)  # its run_defaults: the exact engines for runs
    settings = {**(cls.run_defaults if cls is not None else {}), **config.estimator}
    return estimators.make_estimator(method.estimator, model, settings, seed, device)


# --------------------------------------------------------------------------- run
class TrainingRun(NamedTuple):
    """What a run trains with, built once by :func:`_setup`."""

    device: torch.device
    ds: datamod.ImageDataset
    train: tuple[torch.Tensor, torch.Tensor]  # images, labels (the subset)
    test: tuple[torch.Tensor, torch.Tensor]
    model: ConvNet
    optimizer: torch.optim.SGD
    data_gen: torch.Generator  # shuffling and augmentation
    estimator: Any  # the method's spiking estimator, or None


def _setup(config: DeepConfig, ctx: RunContext) -> TrainingRun:
    """Device, dataset (subsets applied), model, optimizer, data generator and estimator of a run."""
    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    ds = datamod.load_dataset(config.dataset, config.data_dir)
    subset_rng = ctx.rng("subset")
    train = _subset(ds.train_x, ds.train_y, config.max_train, subset_rng)
    test = _subset(ds.test_x, ds.test_y, config.max_test, subset_rng)
    model = ConvNet(
        ds.in_channels,
        ds.image_size,
        get_method(config.method),
        softmax_output=config.mode == "faithful",
        generator=torch_generator(ctx, "init", "forward"),
        feedback_generator=torch_generator(ctx, "init", "feedback"),
    ).to(device)
    optimizer = build_optimizer(model, config)
    data_gen = torch_generator(ctx, "data")
    estimator = make_estimator(config, model, ctx, device)
    return TrainingRun(device, ds, train, test, model, optimizer, data_gen, estimator)


def _epoch_fractions(overall, epoch: int):
    """A ``train_epoch`` progress hook that advances ``overall`` (counted in epochs) batch by batch."""

    def hook(batches):
        n = max(1, len(batches))
        for i, batch in enumerate(batches):
            yield batch
            overall.update_to(epoch + (i + 1) / n)

    return hook


def _train_and_test(config: DeepConfig, epoch: int, setup: TrainingRun, overall: Any) -> dict[str, float]:
    """One epoch of training and the test pass; the epoch's losses, accuracies and throughput."""
    device, ds, train, test, model, optimizer = setup[:6]
    t0 = time.perf_counter()
    hook = _epoch_fractions(overall, epoch) if overall is not None else None
    train_loss, train_acc = train_epoch(model, optimizer, *train, ds, config, setup.data_gen, device, hook)
    dt = time.perf_counter() - t0
    test_loss, test_acc = evaluate(model, *test, ds, config.test_batch_size, device)
    return {
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "train_images_per_s": len(train[1]) / dt if dt > 0 else float("nan"),
    }


def unstamped_problem(state: dict[str, Any], config: DeepConfig, model, optimizer, data_gen, estimator) -> str | None:
    """What does not fit in a deep checkpoint of the earlier format (no stamp), else ``None``: the
    model, data stream and estimator states must have the structure of those built for this config,
    the optimizer's buffers the shapes of the parameters, and one record per epoch done."""
    keys = {"epoch", "model", "optimizer", "data_generator", "estimator", "epochs", "initial"}
    if set(state) != keys:
        return f"keys {', '.join(sorted(map(str, state)))}, not {', '.join(sorted(keys))}"
    epoch = state["epoch"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 1 <= epoch <= config.n_epochs:
        return f"'epoch' is {epoch!r}, not a number of epochs in 1..{config.n_epochs}"
    if (state["estimator"] is None) != (estimator is None):
        return "'estimator' does not match this config's method" + (" (it has none)" if estimator is None else "")
    if not isinstance(state["epochs"], list) or len(state["epochs"]) != epoch:
        return f"'epochs' does not hold the records of {epoch} epochs"
    fresh = {
        "model": model.state_dict(),
        "data_generator": data_gen.get_state(),
        "estimator": estimator.state_dict() if estimator is not None else None,
        "initial": layer_alignment(model.feedback_layers()),
    }
    problem = next((p for key, want in fresh.items() if (p := structure_problem(state[key], want, key))), None)
    return problem or _optimizer_problem(state["optimizer"], optimizer)


def _optimizer_problem(opt: Any, optimizer: torch.optim.Optimizer) -> str | None:
    """What does not fit in a checkpoint's optimizer state ``opt`` (the param groups of ``optimizer``,
    buffers with the shapes of its parameters), else ``None``."""
    problem = structure_problem(opt.get("param_groups") if isinstance(opt, dict) else None,
                                optimizer.state_dict()["param_groups"], "optimizer.param_groups")  # fmt: skip
    if problem:
        return problem
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, buffers in opt.get("state", {}).items():
        if not isinstance(index, int) or not 0 <= index < len(params) or not isinstance(buffers, dict):
            return f"'optimizer.state' holds an entry {index!r} for no parameter"
        for name, value in buffers.items():
            if isinstance(value, torch.Tensor) and value.ndim and value.shape != params[index].shape:
                shapes = f"{tuple(value.shape)}, its parameter {tuple(params[index].shape)}"
                return f"'optimizer.state.{index}.{name}' has shape {shapes}"
    return None


def run(config: DeepConfig, ctx: RunContext) -> dict[str, float]:
    """Train for ``n_epochs``; write ``metrics.json`` after every epoch; return the final summary."""
    setup = _setup(config, ctx)
    ds, train, test, model, optimizer, data_gen, estimator = setup[1:]
    epochs: list[dict[str, float]] = []
    start = 0
    state = ctx.load_checkpoint(
        check_unstamped=lambda state: unstamped_problem(state, config, model, optimizer, data_gen, estimator)
    )
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        data_gen.set_state(state["data_generator"])
        if estimator is not None:
            estimator.load_state_dict(state["estimator"])
        epochs = list(state["epochs"])
        initial = state["initial"]
        start = int(state["epoch"])
    else:
        initial = _alignment(model)
    ctx.save_metrics(
        {
            "method": model.method.name,
            "dataset": ds.name,
            "mode": config.mode,
            "n_train": len(train[1]),
            "n_test": len(test[1]),
            "layer_sizes": list(model.layer_sizes),
            "initial": initial,
        }
    )
    desc = f"deep {model.method.name}"
    overall = ctx.progress(total=config.n_epochs, initial=start, desc=desc, unit="epoch", unit_scale=True)
    with overall:
        for epoch in range(start, config.n_epochs):
            epochs.append(_epoch_record(config, epoch, setup, overall))
            ctx.save_metrics({"epochs": epochs})
            ctx.save_checkpoint(
                {
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "data_generator": data_gen.get_state(),
                    "estimator": estimator.state_dict() if estimator is not None else None,
                    "epochs": epochs,
                    "initial": initial,
                }
            )
            overall.update_to(epoch + 1)
            overall.set_postfix(test_accuracy=f"{epochs[-1]['test_accuracy']:.1f}%")
    return summarise(epochs)


def _alignment(model: ConvNet) -> dict[str, float]:
    """Alignment metrics of every feedback layer of ``model``."""
    return layer_alignment(model.feedback_layers())


def _epoch_record(config: DeepConfig, epoch: int, setup: TrainingRun, overall: Any) -> dict[str, float]:
    """The estimator step, training and test of ``epoch``: its record for ``metrics.json``."""
    model, estimator = setup.model, setup.estimator
    record: dict[str, float] = {"epoch": epoch}
    if estimator is not None:
        try:
            est_metrics = estimator.before_epoch(epoch) or {}
        except NonFiniteError as exc:
            where, keys = f"the estimation phase before epoch {epoch}", [f"estimator.{k}" for k in exc.keys]
            raise NonFiniteError(exc.what, where, keys, exc.kind) from None
        record.update({f"estimator/{k}": float(v) for k, v in est_metrics.items()})
        pre = _alignment(model)
        record.update({f"after_estimator/{k}": v for k, v in pre.items()})
    # with a spiking phase before every epoch, progress counts whole epochs: batch fractions would
    # measure the training's rate only and misproject the run (the spiking phase may dominate)
    per_batch = overall if estimator is None else None
    record.update(_train_and_test(config, epoch, setup, per_batch))
    keys = ["lr", "momentum"] + [f"estimator.{k}" for k in ("sal_lr", "lr") if k in (config.estimator or {})]
    check_finite({"train loss": record["train_loss"]}, f"epoch {epoch}", keys)
    weights = {f"the {name} weight": layer.weight for name, layer in model.feedback_layers().items()}
    check_finite(weights, f"epoch {epoch}", keys)
    record.update(_alignment(model))
    return record


def summarise(epochs: list[dict[str, float]]) -> dict[str, float]:
    """Scalar summary of a finished run: final metrics, best test accuracy."""
    if not epochs:
        return {}
    last = epochs[-1]
    keys = ["train_loss", "train_accuracy", "test_loss", "test_accuracy"]
    keys += [f"{layer}/angle" for layer in ("conv2", "fc1", "fc2", "fc3")]
    out = {f"final_{k}" if "/" not in k else k: float(last[k]) for k in keys if k in last}
    out["best_test_accuracy"] = float(max(e["test_accuracy"] for e in epochs))
    out["epochs_done"] = len(epochs)
    rates = [e["train_images_per_s"] for e in epochs if np.isfinite(e.get("train_images_per_s", np.nan))]
    if rates:
        out["train_images_per_s"] = float(np.median(rates))
    return out


def history(metrics: dict[str, Any], key: str) -> np.ndarray:
    """The per-epoch series ``key`` from a run's ``metrics.json`` (NaN where missing)."""
    return np.array([float(e.get(key, np.nan)) for e in metrics.get("epochs", [])])
