"""The ConvNet trained for every method of Fig. 8 (see docs/deep.md, 'The ConvNet').

Architecture (64 channels, 5x5 kernels, stride 1, no padding, no conv bias)::

    conv1 C_in->64 -> ReLU -> BN2d -> maxpool 2      (order "relu_bn", the reference's)
    conv2 64->64   -> ReLU -> BN2d -> maxpool 2
    flatten (64 * s2 * s2, s2 = ((s - 4)//2 - 4)//2: 1024 for 28 px, 1600 for 32 px)
    fc1 ->384 (+bias) -> ReLU -> BN1d
    fc2 384->192 (+bias) -> ReLU -> BN1d
    fc3 192->10 (+bias) [-> softmax in the faithful mode]

In the faithful mode the model outputs probabilities and the loss is ``cross_entropy`` applied to
them (the reference's double softmax, docs/deep.md 'The ConvNet'); in the corrected mode the model outputs logits.
:meth:`ConvNet.loss` hides the difference.  The conv layers use ``method.conv_feedback``, the FC
layers ``method.fc_feedback`` (see :mod:`spikealign.deep.layers`).  BatchNorm uses PyTorch
defaults (eps 1e-5, momentum 0.1, gamma 1, beta 0).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import FeedbackConv2d, FeedbackLinear, link_dfa
from .methods import Method

N_CHANNELS = 64
FC_SIZES = (384, 192)
N_CLASSES = 10


def fc_neurons(n_classes: int = N_CLASSES) -> int:
    """Neurons of the FC layers a spiking estimator simulates (hidden and output; the memory estimate)."""
    return sum(FC_SIZES) + n_classes


def flat_features(image_size: int, n_channels: int = N_CHANNELS) -> int:
    """Size of the flattened conv output: ``n_channels * (((s - 4)//2 - 4)//2)**2``."""
    side = ((image_size - 4) // 2 - 4) // 2
    if side < 1:
        raise ValueError(f"images of {image_size} px are too small for two 5x5 convs and two 2x2 pools (need >= 16)")
    return n_channels * side * side


class ConvNet(nn.Module):
    """Two conv blocks and three FC layers; feedback pathways chosen by ``method``.

    Parameters
    ----------
    in_channels : 1 (MNIST, Fashion-MNIST) or 3 (CIFAR-10, SVHN).
    image_size : 28 or 32 (any size >= 16 works).
    method : a registered :class:`~spikealign.deep.methods.Method`.
    softmax_output : faithful mode (``True``): the forward pass ends with a softmax and the loss is
        cross-entropy on these probabilities; ``False``: logits and ordinary cross-entropy.
    n_classes : number of output units.
    generator, feedback_generator : torch generators for the forward and the feedback parameters.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int,
        method: Method,
        softmax_output: bool = True,
        n_classes: int = N_CLASSES,
        generator: torch.Generator | None = None,
        feedback_generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.method = method
        self.softmax_output = softmax_output
        conv_kind, fc_kind = method.conv_feedback, method.fc_feedback
        self.conv1 = FeedbackConv2d(
            in_channels,
            N_CHANNELS,
            5,
            bias=False,
            kind=conv_kind,
            generator=generator,
            feedback_generator=feedback_generator,
        )
        self.bn1 = nn.BatchNorm2d(N_CHANNELS)
        self.conv2 = FeedbackConv2d(
            N_CHANNELS,
            N_CHANNELS,
            5,
            bias=False,
            kind=conv_kind,
            generator=generator,
            feedback_generator=feedback_generator,
        )
        self.bn2 = nn.BatchNorm2d(N_CHANNELS)
        n0 = flat_features(image_size)
        sizes = (n0, *FC_SIZES, n_classes)
        self.layer_sizes = sizes
        self.fc1 = FeedbackLinear(
            sizes[0], sizes[1], kind=fc_kind, generator=generator, feedback_generator=feedback_generator
        )
        self.bn3 = nn.BatchNorm1d(sizes[1])
        self.fc2 = FeedbackLinear(
            sizes[1], sizes[2], kind=fc_kind, generator=generator, feedback_generator=feedback_generator
        )
        self.bn4 = nn.BatchNorm1d(sizes[2])
        self.fc3 = FeedbackLinear(
            sizes[2], sizes[3], kind=fc_kind, generator=generator, feedback_generator=feedback_generator
        )
        link_dfa(self)

    @property
    def fc_layers(self) -> list[FeedbackLinear]:
        """The three FC layers in forward order."""
        return [self.fc1, self.fc2, self.fc3]

    def feedback_layers(self) -> dict[str, FeedbackLinear | FeedbackConv2d]:
        """Layers whose feedback matters for learning: conv2 (conv1's input is the image) and fc1-3."""
        return {"conv2": self.conv2, "fc1": self.fc1, "fc2": self.fc2, "fc3": self.fc3}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.bn1(F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.bn2(F.relu(self.conv2(x))), 2)
        x = torch.flatten(x, 1)
        x = self.bn3(F.relu(self.fc1(x)))
        x = self.bn4(F.relu(self.fc2(x)))
        x = self.fc3(x)
        return torch.softmax(x, dim=1) if self.softmax_output else x

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of ``output`` (probabilities in the faithful mode: log-softmax is applied
        to them again, as the reference's ``CrossEntropyLoss`` does; logits otherwise)."""
        return F.cross_entropy(output, target)
