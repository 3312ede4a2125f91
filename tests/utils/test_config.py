"""Two-level confs: overlays replace leaves and refuse unknown ones; argv overrides both."""

import argparse

import pytest

from phalar_asteroid.utils.config import load_conf, parse_with_conf


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / "conf.yml"
    path.write_text("training:\n  lr: 0.001\n  epochs: 10\ndata:\n  sample_rate: 16000\n")
    return str(path)


def test_overlays_apply_in_order(conf, tmp_path):
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text("training:\n  lr: 0.01\n  epochs: 3\n")
    second.write_text("training:\n  epochs: 5\n")
    assert load_conf(conf, [str(first), str(second)]) == {
        "training": {"lr": 0.01, "epochs": 5},
        "data": {"sample_rate": 16000},
    }


@pytest.mark.parametrize(
    "text, message",
    [("optim:\n  lr: 1\n", "unknown group 'optim'"), ("training:\n  lrr: 1\n", "training.lrr")],
)
def test_overlay_typos_are_errors_naming_the_file(conf, tmp_path, text, message):
    bad = tmp_path / "bad.yml"
    bad.write_text(text)
    with pytest.raises(ValueError, match=f"bad.yml: .*{message}"):
        load_conf(conf, [str(bad)])


def test_command_line_overrides_the_files(conf, tmp_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--exp_dir", default="exp/x")
    overlay = tmp_path / "o.yml"
    overlay.write_text("training:\n  epochs: 3\n")
    parsed = parse_with_conf(parser, conf, [str(overlay)], argv=["--lr", "0.5"])
    assert parsed == {
        "main_args": {"exp_dir": "exp/x"},
        "training": {"lr": 0.5, "epochs": 3},
        "data": {"sample_rate": 16000},
    }
