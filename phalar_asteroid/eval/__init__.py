"""Evaluation: stem retrieval (:mod:`.retrieval`, :mod:`.baselines`), beat tracking, chords.

Kept free of imports: import the submodules (each pulls in only what it needs).
"""
