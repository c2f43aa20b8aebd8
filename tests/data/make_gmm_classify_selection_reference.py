"""Write tests/data/gmm_classify_selection_reference.npz: per-replicate gmm-classify metrics (replicates=6, seed=3)
for every verifier, two students and two policies. Run at commit 373f49e (before selection moved onto
collapse/selectors.py); tests/test_selectors.py checks the current code reproduces it bit for bit.
Usage: PYTHONPATH=. python tests/data/make_gmm_classify_selection_reference.py OUT.npz
"""
import sys

import jax
import numpy as np

from collapse import LoopConfig, run_loop
from collapse.families.gmm_classify import GMMClassify

jax.config.update("jax_enable_x64", True)

CASES = {
    "vs_n_phipsi": ({"d": 20, "mu_norm": 1.0, "N": 2000, "p": 0.6, "verifier": "phi-psi", "phi": 1.0, "psi": 0.4}, 2),
    "vs_p_phipsi": ({"d": 20, "mu_norm": 1.0, "N": 2000, "p": 0.3, "verifier": "phi-psi", "phi": 0.5, "psi": 1.0}, 2),
    "proxy_linear": ({"d": 20, "mu_norm": 1.0, "N": 2000, "verifier": "linear", "verifier_angle": 60.0,
                      "generator": "linear", "generator_angle": 60.0}, 2),
    "iter_oracle": ({"d": 50, "mu_norm": 1.0, "N": 500, "generator": "linear", "n_real": 100, "verifier": "oracle"}, 4),
    "iter_none": ({"d": 50, "mu_norm": 1.0, "N": 500, "p": 0.3}, 4),
    "bestofk_ls": ({"d": 8, "N": 700, "p": 0.4, "verifier": "best-of-k", "k": 3, "verifier_angle": 40.0,
                    "student": "ls", "intercept": True, "chunk": 256}, 3),
    "random_class": ({"d": 6, "N": 500, "p_class": (0.1, 0.5), "verifier": "phi-psi", "phi_class": (0.9, 0.3),
                      "psi_class": (0.2, 0.6), "pi_pos": 0.3}, 3),
    "random": ({"d": 6, "N": 500, "p": 0.3, "verifier": "random", "phi": 0.4}, 3),
    "logistic": ({"d": 4, "N": 300, "p": 0.2, "verifier": "phi-psi", "phi": 0.8, "psi": 0.3, "student": "logistic",
                  "ridge": 1e-3, "logistic_steps": 10}, 2),
}
out = {}
for name, (fam, G) in CASES.items():
    for mode in ("replace", "accumulate"):
        m = run_loop(GMMClassify(**fam), LoopConfig(mode=mode, generations=G, replicates=6, seed=3))
        for k, v in m.items():
            out[f"{name}|{mode}|{k}"] = v
np.savez_compressed(sys.argv[1], **out)
print(len(out))
