"""Architecture families; importing this package registers every builder.

The modules import Keras only inside their builders, so registration (and
``zoo models``) stays fast.
"""

from zoo.models import alexnet, inception, lenet, perceptron, plain, resnet, vgg  # noqa: F401
