"""convcli: shapes, weights, costs and numerical proof for PyTorch convolutions.

The public API is pinned by ``__all__`` (and a test). Importing convcli loads
neither torch nor numpy, and ConvSpec's module only when it is first used (the
console script installs its signal handlers before anything else is imported).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcli.errors import ConvError, EnvironmentProblem

if TYPE_CHECKING:
    from convcli.calculator.spec import ConvSpec

__version__ = "0.1.0"

__all__ = ["ConvError", "ConvSpec", "EnvironmentProblem", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "ConvSpec":
        from convcli.calculator.spec import ConvSpec
        return ConvSpec
    raise AttributeError(f"module 'convcli' has no attribute {name!r}")
