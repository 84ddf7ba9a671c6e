"""Every registered experiment: listed, presets resolvable, config keys documented by the error message."""

import pytest

from paperzoo.core import registry
from paperzoo.core.errors import UserError
from paperzoo.core.runner import prepare

EXPERIMENTS = sorted(registry.discover())


def test_the_issued_systems_are_registered():
    assert {"induction", "nlhall", "amr", "fedga", "distill", "distill.lm"} <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.parametrize("preset", registry.PRESETS)
def test_every_preset_builds_a_valid_config(name, preset):
    experiment, cfg, resolved, seed = prepare(name, preset=preset, seed=3)
    assert isinstance(cfg, experiment.config) and resolved == preset and seed == 3
    assert experiment.paper == registry.SYSTEMS[experiment.system][0]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_unknown_key_lists_the_experiments_keys(name):
    with pytest.raises(UserError, match="valid keys: "):
        prepare(name, overrides={"no.such.key": "1"})
