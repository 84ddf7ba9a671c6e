"""Cross-check against WannierBerri (an independent implementation) on the strained-graphene model."""

import numpy as np
import pytest

pytest.importorskip("wannierberri")
pytest.importorskip("pythtb")
pytest.importorskip("numba")

from paperzoo.nlhall import Smearing, berry_curvature_dipole, gapped_graphene  # noqa: E402
from paperzoo.nlhall.crosscheck import wannierberri_bcd  # noqa: E402


@pytest.mark.parametrize("form", ["sea", "surface"])
def test_same_dipole_as_wannierberri(form):
    model, mus, k_t, grid = gapped_graphene(gap=0.2, strain=0.05), [0.3, 0.4, 0.5], 0.1, 40
    ours = berry_curvature_dipole(model, mus, Smearing("fermi", k_t), form=form, grid=grid).dipole
    theirs = wannierberri_bcd(model, mus, k_t, grid, form=form)
    np.testing.assert_allclose(theirs[:, 0], ours[:, 0], rtol=0.02)
    assert np.abs(theirs[:, 1]).max() < 1e-6 * np.abs(theirs[:, 0]).max()
