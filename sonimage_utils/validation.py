"""The interface name of objective 5's metric function (``README.md``, section Interfaces): ``survival_performance``.

The external-validation code lives in :mod:`sonimage_utils.external_validation`; this module keeps the
published name ``sonimage_utils.validation.survival_performance`` working for scripts that call it.
"""

from sonimage_utils.external_validation.performance import survival_performance

__all__ = ["survival_performance"]
