import numpy as np
import pytest

from paperzoo.core import UserError
from paperzoo.nlhall import (
    band_geometry,
    from_pythtb,
    gapped_graphene,
    haldane,
    load_hr_dat,
    load_tb_dat,
    to_pythtb,
    write_hr_dat,
    write_tb_dat,
)

K = np.random.default_rng(3).normal(size=(12, 2))


@pytest.mark.parametrize("model", [gapped_graphene(strain=0.05), haldane(mass=0.3)])
def test_hr_and_tb_files_reproduce_the_model(tmp_path, model):
    write_hr_dat(model, tmp_path / "m_hr.dat")
    write_tb_dat(model, tmp_path / "m_tb.dat")
    ref = band_geometry(model, K)
    for loaded in (load_hr_dat(tmp_path / "m_hr.dat", model.lattice, model.positions @ model.lattice),
                   load_tb_dat(tmp_path / "m_tb.dat")):
        geo = band_geometry(loaded, K)
        np.testing.assert_allclose(loaded.h(K), model.h(K), atol=1e-12)
        np.testing.assert_allclose(geo.omega, ref.omega, rtol=1e-9, atol=1e-12)


def test_hr_without_centres_has_same_bands_but_lattice_gauge_curvature(tmp_path):
    model = gapped_graphene(strain=0.05)
    write_hr_dat(model, tmp_path / "m_hr.dat")
    lattice_gauge = load_hr_dat(tmp_path / "m_hr.dat", model.lattice)
    a, b = band_geometry(lattice_gauge, K), band_geometry(model, K)
    np.testing.assert_allclose(a.energy, b.energy, atol=1e-12)
    assert np.abs(a.omega - b.omega).max() > 1e-3  # the Kubo Ω depends on the intracell positions


def test_r3_blocks_are_summed_and_degeneracies_divided(tmp_path):
    text = "hdr\n1\n3\n 1 2 2\n" + "0 0 0 1 1 0.5 0.0\n" + "0 0 1 1 1 0.4 0.0\n" + "0 0 -1 1 1 0.4 0.0\n"
    (tmp_path / "x_hr.dat").write_text(text)
    tb = load_hr_dat(tmp_path / "x_hr.dat", np.eye(2))
    np.testing.assert_allclose(tb.h(np.zeros((1, 2))).real, [[[0.5 + 0.2 + 0.2]]])


def test_pythtb_round_trip_and_pythtb_eigenvalues():
    model = gapped_graphene(strain=0.05)
    ptb = to_pythtb(model)
    back = from_pythtb(ptb)
    np.testing.assert_allclose(back.h(K), model.h(K), atol=1e-12)
    k_reduced = K @ model.lattice.T / (2 * np.pi)
    ev = np.array([ptb.solve_one(k) for k in k_reduced])
    np.testing.assert_allclose(ev, band_geometry(model, K).energy, atol=1e-10)


def _good_hr(tmp_path):
    write_hr_dat(gapped_graphene(), tmp_path / "g_hr.dat")
    return (tmp_path / "g_hr.dat").read_text().splitlines()


@pytest.mark.parametrize("line, replacement, message", [
    (5, "    0    0    0    1    1  0.1", "line 6: expected 'R1 R2 R3 m n Re"),
    (5, "    0    0    0    9    1  0.1 0.0", "line 6: orbital indices must be in 1..2"),
    (5, "    0    0    0    1    1  abc 0.0", "line 6: expected 'R1 R2 R3"),
    (1, "two", "line 2: expected num_wann"),
    (3, "    1    1    0    1    1", "line 4: degeneracies must be positive"),
])
def test_malformed_hr_names_the_line(tmp_path, line, replacement, message):
    lines = _good_hr(tmp_path)
    lines[line] = replacement
    (tmp_path / "bad_hr.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=message):
        load_hr_dat(tmp_path / "bad_hr.dat", np.eye(2) * 2.46)


def test_truncated_and_missing_files(tmp_path):
    lines = _good_hr(tmp_path)
    (tmp_path / "cut_hr.dat").write_text("\n".join(lines[:-3]) + "\n")
    with pytest.raises(UserError, match="file ends early"):
        load_hr_dat(tmp_path / "cut_hr.dat", np.eye(2) * 2.46)
    with pytest.raises(UserError, match="not found"):
        load_hr_dat(tmp_path / "nope_hr.dat", np.eye(2))
    with pytest.raises(UserError, match="lattice"):
        load_hr_dat(tmp_path / "g_hr.dat", np.zeros((2, 2)))


def test_non_hermitian_file_is_rejected(tmp_path):
    lines = _good_hr(tmp_path)
    idx = next(i for i, ln in enumerate(lines) if ln.split()[:5] == ["1", "0", "0", "2", "1"])
    parts = lines[idx].split()
    parts[5] = "-9.0"
    lines[idx] = " ".join(parts)
    (tmp_path / "nh_hr.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="hermitian"):
        load_hr_dat(tmp_path / "nh_hr.dat", np.eye(2) * 2.46)


def test_malformed_tb_dat_names_the_line(tmp_path):
    write_tb_dat(gapped_graphene(), tmp_path / "g_tb.dat")
    lines = (tmp_path / "g_tb.dat").read_text().splitlines()
    lines[2] = "1.0 2.0"
    (tmp_path / "bad_tb.dat").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="line 3: expected lattice vector a2"):
        load_tb_dat(tmp_path / "bad_tb.dat")


def test_experiment_reads_a_user_wannier90_file(tmp_path):
    from paperzoo.nlhall.checks import Findings, user_model_check
    from paperzoo.nlhall.experiment import DataConfig, load_user_model

    model = gapped_graphene(gap=0.6, strain=0.05)
    write_tb_dat(model, tmp_path / "mine_tb.dat")

    class Ctx:
        tables = {}

        def log(self, msg):
            self.msg = msg

        def table(self, name, headers, rows, title=""):
            self.tables[name] = rows
            return " ".join(headers)

    cfg = DataConfig(path=str(tmp_path / "mine_tb.dat"), mu_min=0.4, mu_max=0.7, k_t=0.05)
    found, ctx = Findings(), Ctx()
    user_model_check(load_user_model(cfg), cfg, ctx, found)
    assert found.metrics["user_bcd_max_abs"] > 1e-3 and "D_xz" in found.sections[0][1]
    rows = ctx.tables["user_model_bcd_vs_mu"]
    assert len(rows) == cfg.n_mu and rows[0][0] == pytest.approx(0.4) and rows[-1][0] == pytest.approx(0.7)
    assert max(abs(r[1]) for r in rows) == pytest.approx(found.metrics["user_bcd_max_abs"])
