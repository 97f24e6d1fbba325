"""The calculator world: one convolution as arithmetic on shapes.

ConvSpec and its forward rules, counting, command-line text, the inverse problem,
other frameworks' padding words, other tools' counting conventions and pictures as
data. Standard library only (a test pins it): no torch, numpy, rich or typer.
"""
