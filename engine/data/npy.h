// npy.h — reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0; numpy/lib/format.py).
//
// Layout: magic "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0), then an ASCII
// (3.0: UTF-8) Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (H, W), } padded with
// spaces and a final '\n', then the raw elements.
// Supported element types (descr): '<f4' f32, '<f8' f64, '<f2' f16, '<i4' i32, '<i8' i64, '|u1' u8, '|b1' bool
// ('<' and '|' accepted for one-byte types). Big-endian data, Fortran-order arrays, object arrays (pickles) and
// other types are rejected with an error naming the file and the reason. The data must be exactly
// numel * element size bytes (truncated files and trailing bytes are errors). Bool bytes must be 0 or 1.
// Writer: the bytes numpy.save writes for the same array (version 1.0 unless the header needs 2.0, header padded
// to a multiple of 64 bytes, C order, little endian); atomic (engine/io/atomic_file.h).
#pragma once
#include <string>

#include "engine/tensor/tensor.h"

namespace wsdol::data {

Tensor read_npy(const std::string& path);
Tensor parse_npy(const std::string& bytes, const std::string& name_for_errors);

void write_npy(const std::string& path, const Tensor& t);
std::string npy_bytes(const Tensor& t);

}  // namespace wsdol::data
