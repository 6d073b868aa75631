"""y90-dosimetry: planning and voxel dosimetry for Y-90 radioembolization.

Quantities are pint Quantities from :data:`dosimetry.units.ureg`.
"""

from .errors import InputError
from .units import Q_, ureg

__version__ = "0.1.0"
__all__ = ["InputError", "Q_", "ureg", "__version__"]
