"""sct's benchmark suite (issue 7): gradient time against the function's own time.

Run it with ``python -m bench`` (see bench/README.md). Importing this package
pins every numeric library to one compute thread. That has to happen before
NumPy, JAX or PyTorch is first imported, because their thread pools read these
variables once, at load time; so it is done here, the first thing any
``bench`` module runs.
"""

import os
import sys

ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
os.environ.update(ONE_THREAD)

# Too late for a library already loaded: say so rather than measure quietly
# with several threads.
LOADED_TOO_EARLY = sorted(
    m for m in ("numpy", "jax", "torch") if sys.modules.get(m) is not None
)
