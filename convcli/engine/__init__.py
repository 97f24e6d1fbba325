"""The engine world: torch and numpy at work, each imported inside the functions that
need them (a test pins it), so importing the engine costs nothing.

The torch adapter, .npy files, devices, the memory budget, timing and statistics,
`run` and `--tune`, the numpy reference, `verify`'s checks, and `summary`'s model
loading and traced forward pass.
"""
