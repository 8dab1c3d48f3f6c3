"""Architecture families; importing this package registers every builder.

The modules import Keras only inside their builders, so registration (and
``zoo models``) stays fast.
"""

from zoo.models import (  # noqa: F401
    alexnet,
    inception,
    inception_v3,
    lenet,
    perceptron,
    plain,
    resnet,
    vgg,
)
