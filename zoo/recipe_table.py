"""The recipes of every registered architecture: data, with their citations.

`RECIPES` maps a registered name, or a family (for all its members), to its
recipes by name; `DEFAULT` names the one ``zoo train NAME`` uses without
training flags. Read through `zoo.recipes` (``get_recipe``, ``recipes_for``).
Each `Recipe` says in ``notes`` where the zoo departs from its source.
Imports no Keras.
"""

from __future__ import annotations

from zoo.recipes import recipe

__all__ = ["DEFAULT", "RECIPES"]

_LENET = "LeCun, Bottou, Bengio & Haffner 1998, Proc. IEEE 86(11), Sec. II-C and V-B"
_ALEXNET = "Krizhevsky, Sutskever & Hinton 2012, NIPS, Sec. 4-5"
_VGG = "Simonyan & Zisserman 2015, arXiv:1409.1556, Sec. 3.1"
_GOOGLENET = (
    "Szegedy et al. 2015, arXiv:1409.4842, Sec. 6; rate, batch and weight decay from the "
    "BVLC Caffe reproduction (models/bvlc_googlenet/quick_solver.prototxt)"
)
_RESNET = "He, Zhang, Ren & Sun 2016, arXiv:1512.03385"
_TORCHVISION = "torchvision reference recipe (references/classification, ResNet v1)"
_MLP = "Rumelhart, Hinton & Williams 1986, Nature 323 (plain SGD with momentum 0.9)"
_PERCEPTRON = "Rosenblatt 1958, Psychological Review 65 (error-correction updates)"
_FAST_MNIST = (
    "keras-zoo fast MNIST recipe (measured: benchmarks/RESULTS.md, time to 99 %): Adam "
    "(Kingma & Ba 2015), cosine decay (Loshchilov & Hutter 2017), label smoothing (Szegedy et "
    "al. 2016), dropout (Srivastava et al. 2014)"
)

LENET = {
    "fast": recipe(
        "fast", _FAST_MNIST,
        "Not the paper's: a short recipe measured to reach 99.0 % on MNIST's official test split "
        "with the modern LeNet-5 (the default of `zoo train lenet5`): Adam 3e-3 with cosine "
        "decay over 12 epochs of batch 128, label smoothing 0.1 and dropout 0.25 before F6 and "
        "the output; no augmentation (Keras' translation layers cost 9x a LeNet-5 step on a CPU "
        "under JAX). Seeded, so a rerun on the same backend repeats it.",
        epochs=12, batch_size=128, optimizer="adam", learning_rate=3e-3, schedule="cosine",
        label_smoothing=0.1, dense_dropout=0.25, seed=1,
    ),
    "paper": recipe(
        "paper", _LENET,
        "20 passes over the training set, no distortions (the paper's 0.95 % error), the global "
        "rate decreasing from 5e-4 (2 passes) to 1e-5 after 12 passes, here exponential decay "
        "from 5e-4 with k=0.2 (1.1e-5 at pass 20). The paper's optimizer, stochastic diagonal "
        "Levenberg-Marquardt (a per-parameter step from a curvature estimate) is not in Keras: "
        "Adam, also a per-parameter diagonal scaling, stands in; and the paper updated after "
        "every example (batch 1): batch 32 here keeps an epoch near a minute on a CPU.",
        epochs=20, batch_size=32, optimizer="adam", learning_rate=5e-4,
        schedule="exponential", decay_rate=0.2,
    ),
}  # fmt: skip

ALEXNET = {
    "paper": recipe(
        "paper", _ALEXNET,
        "SGD, batch 128, momentum 0.9, weight decay 5e-4, rate 0.01 divided by 10 when the "
        "validation error stopped improving (three times), about 90 epochs; random 224 crops of "
        "256x256 images and horizontal flips (crop:0.125 pads and crops by 1/8). The PCA colour "
        "jitter is not reproduced. Keras applies weight decay outside the momentum.",
        epochs=90, batch_size=128, optimizer="momentum", learning_rate=0.01, momentum=0.9,
        weight_decay=5e-4, schedule="plateau", plateau_factor=0.1, plateau_patience=5,
        monitor="val_loss", augment={"flip": 1.0, "crop": 0.125},
    ),
}  # fmt: skip

VGG = {
    "paper": recipe(
        "paper", _VGG,
        "Mini-batch SGD, batch 256, momentum 0.9, weight decay 5e-4, dropout 0.5 on the first "
        "two FC layers (the builder's), rate 1e-2 divided by 10 when the validation accuracy "
        "stopped improving (3 times), stopped after 370k iterations (74 epochs); random crops "
        "and flips. The random RGB shift and the scale jittering are not reproduced.",
        epochs=74, batch_size=256, optimizer="momentum", learning_rate=0.01, momentum=0.9,
        weight_decay=5e-4, schedule="plateau", plateau_factor=0.1, plateau_patience=5,
        monitor="val_accuracy", augment={"flip": 1.0, "crop": 0.125},
    ),
}  # fmt: skip

GOOGLENET = {
    "paper": recipe(
        "paper", _GOOGLENET,
        "Asynchronous SGD with momentum 0.9, the rate decreased by 4 % every 8 epochs (the "
        "paper's); the paper gives no initial rate or batch: 0.01, batch 32 and weight decay "
        "2e-4 are the Caffe reproduction's, its 2.4M iterations about 60 epochs. Auxiliary "
        "losses weighted 0.3 by the model. Polyak averaging and the photometric distortions "
        "are not reproduced; crops of 8-100 % of the area approximated by crop and zoom.",
        epochs=60, batch_size=32, optimizer="momentum", learning_rate=0.01, momentum=0.9,
        weight_decay=2e-4, schedule="step", step_size=8, gamma=0.96,
        augment={"flip": 1.0, "crop": 0.125, "zoom": 0.2},
    ),
}  # fmt: skip

RESNET_CIFAR = {
    "paper": recipe(
        "paper", _RESNET + ", Sec. 4.2",
        "SGD, momentum 0.9, weight decay 1e-4, batch 128, rate 0.1 divided by 10 at 32k and "
        "48k iterations, 64k in all, on a 45k/5k train/validation split, 4-pixel pad-and-crop "
        "and horizontal flips. With 352 iterations an epoch: 182 epochs, the rate divided by 10 "
        "at epochs 91 and 136 (multistep). The paper's 1e-4 'weight decay' is an L2 term of "
        "the loss (Caffe/Torch style): l2=5e-5 gives its gradient 1e-4 w. ResNet-110's 0.01 "
        "warm-up for 400 iterations is not applied (add --warmup-epochs 1).",
        epochs=182, batch_size=128, optimizer="momentum", learning_rate=0.1, momentum=0.9,
        l2=5e-5, schedule="multistep", milestones=(91, 136), gamma=0.1,
        validation_split=0.1, augment={"flip": 1.0, "crop": 0.125},
    ),
}  # fmt: skip

RESNET_CIFAR_SHIPPED = recipe(
    "shipped", "keras-zoo saved_models/resnet20-cifar10 (benchmarks/RESULTS.md, GPU section): "
    "random erasing (Zhong et al. 2017) and label smoothing (Szegedy et al. 2016)",
    "The recipe of the shipped ResNet-20 checkpoint (90.07 % test on the JPEG CIFAR-10 of "
    "../shared/data): Nesterov SGD 0.1, 2 warm-up epochs, cosine decay to 1e-4, L2 2.5e-4, "
    "flips, 4-pixel crops, random erasing 0.5, label smoothing 0.1, 230 epochs on all 50k.",
    epochs=230, batch_size=128, optimizer="nesterov", learning_rate=0.1, momentum=0.9,
    warmup_epochs=2, schedule="cosine", min_lr=1e-4, l2=2.5e-4, label_smoothing=0.1,
    validation_split=0.0, augment={"flip": 1.0, "crop": 0.125, "erase": 0.5},
)  # fmt: skip
RESNET_CIFAR["shipped"] = RESNET_CIFAR_SHIPPED

INCEPTION_V3 = {
    "paper": recipe(
        "paper", "Szegedy, Vanhoucke, Ioffe, Shlens & Wojna 2016, CVPR, Sec. 8 and 7",
        "RMSProp (decay 0.9), rate 0.045 decayed by 0.94 every 2 epochs (continuously here: "
        "exponential, k=0.0309), gradient clipping at "
        "2.0, label smoothing 0.1 (Sec. 7); batch 32 per replica (50 replicas in the paper), "
        "100 epochs here (the paper gives no count). RMSProp's epsilon 1.0 is Keras' default "
        "here (not configurable); the auxiliary head is weighted by the model.",
        epochs=100, batch_size=32, optimizer="rmsprop", learning_rate=0.045,
        schedule="exponential", decay_rate=0.0309, clipnorm=2.0, label_smoothing=0.1,
        augment={"flip": 1.0, "crop": 0.125, "zoom": 0.2},
    ),
}  # fmt: skip

RESNET_IMAGENET = {
    "paper": recipe(
        "paper", _RESNET + ", Sec. 3.4",
        "SGD, batch 256, momentum 0.9, weight decay 1e-4 (an L2 term: l2=5e-5), rate 0.1 "
        "divided by 10 when the error plateaus, up to 60e4 iterations (120 epochs of "
        "ImageNet); random crops and flips. Scale augmentation, colour augmentation and the "
        "per-pixel mean are not reproduced.",
        epochs=120, batch_size=256, optimizer="momentum", learning_rate=0.1, momentum=0.9,
        l2=5e-5, schedule="plateau", plateau_factor=0.1, plateau_patience=5,
        augment={"flip": 1.0, "crop": 0.125},
    ),
    "torchvision": recipe(
        "torchvision", _TORCHVISION,
        "90 epochs, SGD momentum 0.9, rate 0.1 (batch 256) divided by 10 every 30 epochs, "
        "weight decay 1e-4 (PyTorch's is an L2 gradient term: l2=5e-5); random resized crops "
        "and flips (crop and zoom here).",
        epochs=90, batch_size=256, optimizer="momentum", learning_rate=0.1, momentum=0.9,
        l2=5e-5, schedule="step", step_size=30, gamma=0.1,
        augment={"flip": 1.0, "crop": 0.125, "zoom": 0.2},
    ),
}  # fmt: skip

MLP = {
    "paper": recipe(
        "paper", _MLP,
        "Back-propagation with a momentum term (the paper's 'alpha' 0.9) and a fixed rate; the "
        "paper trained toy problems, so the rate, batch and epochs are the zoo's for MNIST.",
        epochs=20, batch_size=32, optimizer="momentum", learning_rate=0.01, momentum=0.9,
    ),
}  # fmt: skip

PERCEPTRON = {
    "paper": recipe(
        "paper", _PERCEPTRON,
        "Plain SGD one example at a time, as the error-correction rule updates; the rate and "
        "epochs are the zoo's (the 1958 machine had no such numbers). Crossentropy, not the "
        "perceptron criterion.",
        epochs=10, batch_size=1, optimizer="sgd", learning_rate=0.01,
    ),
}  # fmt: skip

#: Registered name or family -> {recipe name: Recipe}.
RECIPES = {
    "lenet": LENET,
    "alexnet": ALEXNET,
    "vgg": VGG,
    "inception": GOOGLENET,
    "inception_v3": INCEPTION_V3,  # a name: the family may be GoogLeNet's
    "resnet_cifar": RESNET_CIFAR,
    "plain_cifar": RESNET_CIFAR,  # Fig. 6: plain and residual nets trained alike
    "resnet": RESNET_IMAGENET,
    "plain": RESNET_IMAGENET,
    "mlp": MLP,
    "perceptron": PERCEPTRON,
}

#: Key of `RECIPES` -> the recipe ``zoo train NAME`` uses with no training flag.
DEFAULT = {key: ("fast" if "fast" in recipes else "paper") for key, recipes in RECIPES.items()}
