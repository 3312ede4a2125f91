"""Data: dataset loaders and manifests (:mod:`.datasets`), training pairs (:mod:`.pairs`),
augmentations (:mod:`.augment`), fixed retrieval benchmark lists (:mod:`.retrieval_lists`) and
the random draws both build on (:mod:`.sampling`).

Kept free of imports so that ``import phalar_asteroid.data`` stays cheap; import the submodules.
"""
