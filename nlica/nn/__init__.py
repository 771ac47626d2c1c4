"""Plain torch modules used by the estimators (no scikit-learn, no numpy)."""

from .contrastive import PCLNet, TCLNet
from .ivae import IVAENet
from .modules import Maxout, MaxoutMLP

__all__ = ["Maxout", "MaxoutMLP", "TCLNet", "PCLNet", "IVAENet"]
