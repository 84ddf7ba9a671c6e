"""Cross-check against WannierBerri (optional extra: ``pip install wannierberri pythtb numba``).

The same TightBinding goes to WannierBerri through PythTB (``System_R.from_pythtb``). WannierBerri evaluates
at T = 0 on a Fermi-level grid and then convolves with -∂f0/∂ε (its FermiDiracSmoother); at a Fermi level
far from the ends of that grid this is the same Fermi-Dirac-smeared D as ours. It runs serially (no ray) in a
temporary folder, so nothing is left behind.
"""

import contextlib
import io
import os
import tempfile

import numpy as np

from .errors import UserError
from .hamiltonian import TightBinding
from .tbio import to_pythtb
from .units import K_B_EV


def _import_wannierberri():
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # pyfftw notice
            import wannierberri as wb
            from wannierberri import calculators
            from wannierberri.smoother import FermiDiracSmoother
    except ImportError as err:
        raise UserError(f"the WannierBerri cross-check needs `pip install wannierberri pythtb numba` ({err})") from None
    return wb, calculators, FermiDiracSmoother


def wannierberri_bcd(tb: TightBinding, mu, k_t: float, grid: int, form: str = "sea", energy_step: float = 5e-4
                     ) -> np.ndarray:
    """WannierBerri's [D_xz, D_yz] (Å; its dimensionless 3D D times the 1 Å out-of-plane period it assigns a
    2D PythTB model) at chemical potentials ``mu`` (eV), Fermi-Dirac k_B T = ``k_t`` (eV), grid × grid k points."""
    wb, calculators, FermiDiracSmoother = _import_wannierberri()
    mu = np.atleast_1d(np.asarray(mu, float))
    margin = 10 * k_t + 2 * energy_step
    efermi = np.arange(mu.min() - margin, mu.max() + margin + energy_step / 2, energy_step)
    smoother = FermiDiracSmoother(efermi, T_Kelvin=k_t / K_B_EV)
    cls = {"sea": calculators.static.BerryDipole_FermiSea, "surface": calculators.static.BerryDipole_FermiSurf}[form]
    sink = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sink):
        system = wb.System_R.from_pythtb(to_pythtb(tb))
        lattice_c = float(np.linalg.norm(system.real_lattice[2]))
        res = wb.run(system, grid=wb.Grid(system, NKdiv=(1, 1, 1), NKFFT=(grid, grid, 1)),
                     calculators={"bcd": cls(Efermi=efermi, tetra=False, smoother=smoother)},
                     parallel=False, use_irred_kpt=False, symmetrize=False, adpt_num_iter=0,
                     fout_name=os.path.join(tmp, "wb"), file_Klist_path=os.path.join(tmp, "klist"),
                     print_progress_step_time=1e9)
    data = res.results["bcd"].dataSmooth  # (E, β, δ)
    return np.stack([np.interp(mu, efermi, data[:, b, 2]) for b in range(2)], -1) * lattice_c
