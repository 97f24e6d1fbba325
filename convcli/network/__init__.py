"""The network world: stacks of torch layers as arithmetic on shapes.

The layer-text parser (text.py), binding calls to torch's signatures (binding.py), one
module of layer rules per family (rules/), and the walk (walk.py). Standard library
and the calculator only (a test pins it): no torch, numpy, rich or typer.
"""
