"""convcli: shapes, weights, costs and numerical proof for PyTorch convolutions.

The public API is pinned by ``__all__`` (and a test). Importing convcli loads
neither torch nor numpy.
"""

from convcli.errors import ConvError, EnvironmentProblem
from convcli.calculator.spec import ConvSpec

__version__ = "0.1.0"

__all__ = ["ConvError", "ConvSpec", "EnvironmentProblem", "__version__"]
