"""What zipkit hands back and writes: :class:`Scores` (one value per record) and
:class:`Selection` (the picks), with their manifests; tables and plots (:mod:`.plots`)
that the commands and the experiments draw."""

from .scores import Scores
from .selection import Selection

__all__ = ["Scores", "Selection"]
