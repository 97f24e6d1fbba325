"""`convcli summary`: a user's nn.Module, layer by layer, traced on the meta device.

loading.py builds the model from FILE.py:NAME; modules.py maps a torch module to
convcli's network rules; trace.py runs the forward pass with hooks and builds the
NetReport. torch is imported inside functions.
"""
