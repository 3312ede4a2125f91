"""Data: dataset loaders and manifests (:mod:`.datasets`), training pairs (:mod:`.pairs`),
augmentations (:mod:`.augment`) and fixed retrieval lists (:mod:`.lists`).

Kept free of imports so that ``import phalar_asteroid.data`` stays cheap; import the submodules.
"""
