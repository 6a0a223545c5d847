#!/usr/bin/env python3
"""check_irn_npy.py — checks that tests/reference/clims/irn_cam.npy (the bytes engine/data/cam_npy.cpp writes for
the example in tests/test_clims.cpp IrnCamNpyBytes) loads as IRNet's make_cam / CLIMS make_clims output does:
np.load(path, allow_pickle=True).item() -> {"keys", "cam", "high_res"} with the example's values, and that the
reference's readers (step/eval_cam.py, step/cam_to_ir_label.py) can use it.

Make the file:  WSDOL_WRITE_IRN_NPY=tests/reference/clims/irn_cam.npy \
                    ./build/wsdol_tests --gtest_filter=Clims.IrnCamNpyBytes
                then  python tests/reference/clims/check_irn_npy.py  (checked with numpy 2.4.6)
"""
import os
import sys

import numpy as np

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "irn_cam.npy")
d = np.load(path, allow_pickle=True).item()
assert set(d) == {"keys", "cam", "high_res"}, d.keys()
assert d["keys"].dtype == np.int64 and d["keys"].tolist() == [0, 2]
assert d["cam"].dtype == np.float32 and d["cam"].shape == (2, 3, 4)
assert d["high_res"].dtype == np.float32 and d["high_res"].shape == (2, 9, 13)
assert np.array_equal(d["cam"], (np.arange(24, dtype=np.float32) * np.float32(0.25)).reshape(2, 3, 4))
assert np.array_equal(d["high_res"], (np.arange(234, dtype=np.float32) * np.float32(0.25)).reshape(2, 9, 13))
# eval_cam.py / cam_to_ir_label.py usage
cams = np.pad(d["high_res"], ((1, 0), (0, 0), (0, 0)), mode="constant", constant_values=0.15)
keys = np.pad(d["keys"] + 1, (1, 0), mode="constant")
labels = keys[np.argmax(cams, axis=0)]
assert labels.shape == (9, 13) and set(np.unique(labels)) <= {0, 1, 3}
print("ok", path, "numpy", np.__version__)
