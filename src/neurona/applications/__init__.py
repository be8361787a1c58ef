"""Ready-made networks with Keras's names, arguments and exact layer structure (slide 002, "Configuraciones
de RNCs estándar"): `from neurona.applications import VGG16; model = VGG16(weights='imagenet')`.

`weights='imagenet'` loads the weight file Keras publishes (from the cache, downloading it once, checked
against its hash); `weights=None` builds the network untrained; a path loads that file. Each family's
module also has Keras's `preprocess_input` and `decode_predictions` (`neurona.applications.vgg16`, ...).
LeNet5, AlexNet and GoogLeNet, which Keras lacks, complete the slides' list; UNet builds U-Nets for segmentation.
"""

from . import densenet, imagenet_utils, inception_v3, mobilenet, mobilenet_v2, resnet, resnet50, vgg16, vgg19
from .alexnet import AlexNet
from .densenet import DenseNet121, DenseNet169, DenseNet201
from .googlenet import GoogLeNet
from .inception import InceptionV3
from .inception_resnet_v2 import InceptionResNetV2
from .lenet import LeNet5
from .mobilenet import MobileNet, MobileNetV2
from .nasnet import NASNetMobile
from .resnet import ResNet50, ResNet101, ResNet152
from .unet import UNet
from .vgg import VGG16, VGG19
from .xception import Xception

__all__ = [
    "AlexNet", "DenseNet121", "DenseNet169", "DenseNet201", "InceptionV3", "LeNet5", "MobileNet", "MobileNetV2",
    "ResNet50", "ResNet101", "ResNet152", "VGG16", "VGG19", "densenet", "imagenet_utils",
    "inception_v3", "mobilenet", "mobilenet_v2", "resnet", "resnet50", "vgg16", "vgg19",
    "GoogLeNet", "InceptionResNetV2", "NASNetMobile", "UNet", "Xception", "googlenet", "inception_resnet_v2",
    "nasnet", "unet", "xception",
]
