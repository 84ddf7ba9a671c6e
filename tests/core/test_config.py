from pathlib import Path

import pytest

from paperzoo.core.config import build_config, config_keys, load_yaml_overrides, parse_set_options
from paperzoo.core.errors import UserError

from .conftest import ToyConfig


def test_keys_are_dotted_and_typed():
    keys = config_keys(ToyConfig)
    assert list(keys) == ["train.steps", "train.lr", "train.alphas", "mode", "note", "fail", "interrupt",
                          "broken_figure"]


def test_text_values_are_parsed_by_type():
    cfg = build_config(ToyConfig, {"train.steps": "7", "train.lr": "1e-3", "train.alphas": "0.05,0.5,10",
                                   "mode": "aligned", "note": "none", "fail": "true"})
    assert cfg.train.steps == 7 and cfg.train.lr == pytest.approx(1e-3)
    assert cfg.train.alphas == (0.05, 0.5, 10.0)
    assert cfg.mode == "aligned" and cfg.note is None and cfg.fail is True


def test_layers_apply_in_order():
    cfg = build_config(ToyConfig, {"train.steps": 2}, {"train.steps": "5"})
    assert cfg.train.steps == 5 and cfg.train.lr == 0.1


def test_unknown_key_names_valid_keys():
    with pytest.raises(UserError, match="unknown config key 'no.such'.*train.steps"):
        build_config(ToyConfig, {"no.such": "1"})


@pytest.mark.parametrize("key,value,expected", [("train.steps", "abc", "int"), ("train.lr", "fast", "float"),
                                                ("mode", "other", "one of 'paper', 'aligned'"),
                                                ("fail", "maybe", "bool")])
def test_wrong_type_is_a_user_error(key, value, expected):
    with pytest.raises(UserError, match=f"{key!r} expects {expected}"):
        build_config(ToyConfig, {key: value})


def test_post_init_validation_becomes_user_error():
    with pytest.raises(UserError, match="train.steps must be >= 1"):
        build_config(ToyConfig, {"train.steps": "0"})


def test_yaml_file_and_set_options(tmp_path: Path):
    file = tmp_path / "c.yaml"
    file.write_text("train:\n  steps: 4\nmode: aligned\n")
    cfg = build_config(ToyConfig, load_yaml_overrides(file))
    assert cfg.train.steps == 4 and cfg.mode == "aligned"
    assert parse_set_options(["a.b=1", "c= x "]) == {"a.b": "1", "c": "x"}
    with pytest.raises(UserError, match="key=value"):
        parse_set_options(["oops"])
    (tmp_path / "bad.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(UserError, match="mapping"):
        load_yaml_overrides(tmp_path / "bad.yaml")


def test_nested_default_factory_values_are_kept():
    from dataclasses import dataclass, field

    @dataclass
    class Inner:
        steps: int = 1
        lr: float = 0.5

    @dataclass
    class Outer:
        inner: Inner = field(default_factory=lambda: Inner(steps=9))

    cfg = build_config(Outer, {"inner.lr": "0.1"})
    assert cfg.inner.steps == 9 and cfg.inner.lr == 0.1
