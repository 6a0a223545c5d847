# make_numpy_all_dtypes.py — regenerates numpy_all_dtypes.safetensors with the reference implementation
# (pip install safetensors numpy; written with safetensors 0.8.0, numpy 2.4). Not used by the build: the file
# is checked in, and tests/test_safetensors.cpp reads it and re-serializes it byte for byte.
import numpy as np
from safetensors.numpy import save_file

rng = np.random.default_rng(0)
tensors = {
    "f64": rng.standard_normal((2, 3)),
    "f32": rng.standard_normal((4, 5)).astype(np.float32),
    "f16": rng.standard_normal((3,)).astype(np.float16),
    "i64": np.array([[-5, 1 << 40], [7, 8]], np.int64),
    "i32": np.array([1, -2, 3], np.int32),
    "i16": np.array([-300, 2, 30000], np.int16),
    "i8": np.array([-128, 5, 127], np.int8),
    "u8": np.array([0, 200, 255], np.uint8),
    "u16": np.array([65535, 3], np.uint16),
    "u32": np.array([4000000000, 1], np.uint32),
    "u64": np.array([1, 2], np.uint64),
    "bool": np.array([True, False, True]),
    "zero": np.zeros((0, 3), np.float32),
    "scalar": np.array(3.5, np.float32),
    "a.weight": np.ones((2, 2), np.float32),
    "B.weight": np.ones((1,), np.float32),
}
save_file(tensors, "numpy_all_dtypes.safetensors", metadata={"format": "np", "x": "y \u00e9 \"q\""})
