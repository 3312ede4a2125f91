"""Options that every subcommand shares: the model they load (``--model``, ``--device``)."""

import os

from ..inference.model import load_model
from ..models.base import PRETRAINED_DIR
from .errors import CliError, describe
from .parser import DEFAULT_MODEL


def load_model_option(args):
    """The model named by ``--model`` on ``--device``, with the CLI's wording of failures.

    Args:
        args (argparse.Namespace): parsed arguments with ``model`` and ``device``.

    Returns:
        LoadedModel: the model in eval mode and its identity.

    Raises:
        CliError: the model cannot be found, read or moved to the device.
    """
    try:
        return load_model(args.model, args.device)
    except FileNotFoundError as err:
        if args.model == DEFAULT_MODEL:
            raise CliError(
                f"the default model {DEFAULT_MODEL!r} is not shipped with this installation "
                f"(expected {os.path.join(PRETRAINED_DIR, DEFAULT_MODEL + '.pth')}); pass "
                "--model PATH to a checkpoint saved with model.serialize()"
            ) from None
        raise CliError(f"--model: {describe(err)}") from None
    except (ValueError, OSError) as err:
        option = "--device" if str(err).startswith("device ") else "--model"
        raise CliError(f"{option} {describe(err)}") from None
