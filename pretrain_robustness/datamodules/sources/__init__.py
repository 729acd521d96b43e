"""Data sources: each describes one dataset's on-disk layout as a table of images."""

from .domainnet import DomainNet
from .image_folder import ImageFolderSource
from .imagenet import ImageNetTrain, ImageNetVal
from .imagenet_sketch import ImageNetSketch
from .imagenet_v2 import ImageNetV2
from .inaturalist import INaturalist2017, INaturalist2021, INaturalist2021Heldout
from .table_source import TableSource

__all__ = ["DomainNet", "INaturalist2017", "INaturalist2021", "INaturalist2021Heldout", "ImageFolderSource", "ImageNetSketch", "ImageNetTrain", "ImageNetV2",
           "ImageNetVal",
           "TableSource"]
