
import numpy as np
import pytest

from paperzoo.nlhall import Smearing, berry_curvature_dipole, gapped_graphene, write_hr_dat, write_tb_dat

MODEL = gapped_graphene(gap=0.6, strain=0.05)


def test_bcd_of_a_tb_dat_matches_the_in_memory_model_and_states_temperature_and_grid(tmp_path, paperzoo_cli):
    write_tb_dat(MODEL, tmp_path / "g_tb.dat")
    out = tmp_path / "D.csv"
    code, text = paperzoo_cli("nlhall", "bcd", str(tmp_path / "g_tb.dat"), "--mu", "0.4:0.7:4", "--kT", "0.05",
                              "--grid", "30", "--subdivision", "3", "-o", str(out))
    assert code == 0, text
    assert "k_B T = 0.05 eV" in text and "30 x 30" in text and "split 3 x 3" in text
    lines = out.read_text().splitlines()
    header = [ln for ln in lines if ln.startswith("#")]
    assert any("k_B T = 0.05 eV" in h for h in header) and any("30 x 30" in h for h in header)
    data = np.loadtxt(out, delimiter=",", comments="#", skiprows=len(header) + 1)
    direct = berry_curvature_dipole(MODEL, np.linspace(0.4, 0.7, 4), Smearing("fermi", 0.05), grid=30,
                                    fermi_subdivision=3)
    np.testing.assert_allclose(data[:, 0], [0.4, 0.5, 0.6, 0.7])
    np.testing.assert_allclose(data[:, 1:], direct.dipole, rtol=1e-8, atol=1e-14)
    assert np.abs(data[:, 1]).min() > 1e-3  # a strained gapped model has D_xz ≠ 0 in the conduction band


def test_bcd_converge_reports_the_subdivision_it_reached(tmp_path, paperzoo_cli):
    write_hr_dat(MODEL, tmp_path / "g_hr.dat")
    code, text = paperzoo_cli("nlhall", "bcd", str(tmp_path / "g_hr.dat"), "--lattice",
                              ",".join(str(float(x)) for x in MODEL.lattice.ravel()), "--mu", "0.5", "--kT", "0.05",
                              "--grid", "24", "--converge", "0.02")
    assert code == 0, text
    assert "converged to 0.02" in text and "D_xz" in text


def _tb_lines(tmp_path):
    write_tb_dat(MODEL, tmp_path / "g_tb.dat")
    return (tmp_path / "g_tb.dat").read_text().splitlines()


def _write(tmp_path, lines, name="bad_tb.dat"):
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    return str(tmp_path / name)


def _trailing_junk(tmp_path):
    return [_write(tmp_path, _tb_lines(tmp_path) + ["   1 2 garbage after the last block"])]


def _num_wann_wrong(tmp_path):
    lines = _tb_lines(tmp_path)
    lines[4] = "           3"
    return [_write(tmp_path, lines)]


def _nan_hopping(tmp_path):
    lines = _tb_lines(tmp_path)
    lines[9] = "    1    1  nan  0.0"
    return [_write(tmp_path, lines)]


def _hr_without_lattice(tmp_path):
    write_hr_dat(MODEL, tmp_path / "g_hr.dat")
    return [str(tmp_path / "g_hr.dat")]


def _bad_mu(tmp_path):
    return [_write(tmp_path, _tb_lines(tmp_path), "g_tb.dat"), "--mu", "0.5:0.1:3"]


def _zero_kt(tmp_path):
    return [_write(tmp_path, _tb_lines(tmp_path), "g_tb.dat"), "--kT", "0"]


def _wrong_suffix(tmp_path):
    return [_write(tmp_path, _tb_lines(tmp_path), "model.txt")]


@pytest.mark.parametrize("make, message", [
    (_trailing_junk, "line 68: unexpected extra data after 5 Hamiltonian and 5 position blocks"),
    (_num_wann_wrong, "num_wann = 3 does not match the data"),
    (_nan_hopping, "'nan' in 'm n Re(H) Im(H)' is not a finite number"),
    (_hr_without_lattice, "holds no lattice; pass --lattice"),
    (_bad_mu, "--mu '0.5:0.1:3': expected MIN:MAX:N"),
    (_zero_kt, "--kT must be a finite number > 0"),
    (_wrong_suffix, "expected a Wannier90 seedname_tb.dat or seedname_hr.dat"),
])
def test_bad_input_exits_2_with_a_message_and_writes_nothing(tmp_path, make, message, paperzoo_cli):
    args = make(tmp_path)
    if "--mu" not in args:
        args += ["--mu", "0.5"]
    out = tmp_path / "D.csv"
    code, text = paperzoo_cli("nlhall", "bcd", *args, "--grid", "8", "-o", str(out))
    assert code == 2, text
    assert message in text and "Traceback" not in text
    assert not out.exists()
