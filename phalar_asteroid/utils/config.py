"""Two-level ``conf.yml`` files (``{group: {key: value}}``) as the recipes use them.

Asteroid recipes keep their hyper-parameters in ``local/conf.yml``; every leaf becomes a
command-line option (``--lr 1e-3``). Overlays (presets, model variants) replace leaves of that
file and may not add any, so a misspelt key is an error instead of a silently ignored setting.
"""

import yaml
from asteroid.utils import parse_args_as_dict, prepare_parser_from_dict


def _read_yaml(path: str) -> dict:
    with open(path) as fhandle:
        return yaml.safe_load(fhandle) or {}


def load_conf(path: str, overlays=()) -> dict:
    """Reads a two-level ``conf.yml`` and applies overlay files in order.

    Args:
        path (str): the base ``conf.yml``.
        overlays (sequence of str): two-level YAML files whose leaves replace the same leaves of
            the conf, applied left to right.

    Returns:
        dict: ``{group: {key: value}}``.

    Raises:
        ValueError: an overlay names an unknown group or key (the message names the file).
    """
    conf = _read_yaml(path)
    for overlay in overlays:
        for group, values in _read_yaml(overlay).items():
            if group not in conf:
                raise ValueError(f"{overlay}: unknown group {group!r} (groups: {sorted(conf)})")
            for key, value in (values or {}).items():
                if key not in conf[group]:
                    raise ValueError(f"{overlay}: unknown key {group}.{key}")
                conf[group][key] = value
    return conf


def parse_with_conf(parser, conf_path: str, overlays=(), argv=None) -> dict:
    """Adds the leaves of a conf (see :func:`load_conf`) as options of ``parser`` and parses.

    Args:
        parser (argparse.ArgumentParser): the script's own options (they land in ``main_args``).
        conf_path (str): the recipe's ``local/conf.yml``.
        overlays (sequence of str): overlay files applied before parsing.
        argv (list, optional): arguments; ``sys.argv[1:]`` by default.

    Returns:
        dict: ``{group: {key: value}}``, command-line values overriding the files' ones.
    """
    conf = load_conf(conf_path, overlays)
    parsed = parse_args_as_dict(prepare_parser_from_dict(conf, parser), args=argv)
    # argparse's own groups: not settings.
    parsed.pop("positional arguments", None)
    parsed.get("main_args", {}).pop("help", None)
    return parsed
