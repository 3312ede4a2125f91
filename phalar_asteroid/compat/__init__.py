"""Compatibility shims for third-party packages that predate our Python/NumPy stack.

Import the submodules by their full path (e.g. ``phalar_asteroid.compat.madmom``); this package
imports nothing itself, so ``import phalar_asteroid`` stays light.
"""
