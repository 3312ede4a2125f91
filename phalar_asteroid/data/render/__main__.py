"""``python -m phalar_asteroid.data.render``: render the embedded corpus (see :mod:`.corpus`)."""

from .corpus import main

if __name__ == "__main__":
    main()
