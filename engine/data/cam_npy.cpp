// cam_npy.cpp — IRNet's pickled-dict CAM .npy writer (see cam_npy.h). Byte layout: numpy/lib/format.py version
// 1.0 header {'descr': '|O', 'fortran_order': False, 'shape': (), } padded to 64 bytes, then the pickle (opcodes
// of protocol 3, which numpy.save uses for object arrays) of
//   _reconstruct(ndarray, (0,), b'b') BUILD (1, (), dtype('O8'), False, [dict])
// with every dict value _reconstruct(...) BUILD (1, shape, dtype('<i8' | '<f4'), False, raw little-endian bytes).
#include "engine/data/cam_npy.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "weights/pickle.h"

namespace wsdol::data {
namespace {

void raw_bytes(std::string& out, const std::string& b) {
    if (b.size() < 256) {  // SHORT_BINBYTES
        out += 'C';
        out += static_cast<char>(b.size());
    } else {  // BINBYTES, u32 little endian
        out += 'B';
        const uint32_t n = static_cast<uint32_t>(b.size());
        for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xFF);
    }
    out += b;
}

// numpy.dtype(name, False, True) BUILD (3, order, None, None, None, -1, -1, flags)
void dtype(weights::pickle::Pickler& p, const char* name, const char* order, int64_t flags) {
    p.global("numpy", "dtype");
    p.string(name);
    p.boolean(false);
    p.boolean(true);
    p.bytes() += '\x87';  // TUPLE3
    p.reduce();
    p.mark();
    p.integer(3);
    p.string(order);
    p.none();
    p.none();
    p.none();
    p.integer(-1);
    p.integer(-1);
    p.integer(flags);
    p.tuple_from_mark();
    p.bytes() += 'b';  // BUILD
}

void reconstruct_head(weights::pickle::Pickler& p) {
    p.global("numpy.core.multiarray", "_reconstruct");
    p.global("numpy", "ndarray");
    p.int_tuple({0});
    raw_bytes(p.bytes(), "b");
    p.bytes() += '\x87';  // TUPLE3
    p.reduce();
}

void array(weights::pickle::Pickler& p, const Tensor& t, const char* what) {
    WSDOL_CHECK(t.defined(), "write_irn_cam_npy: ", what, " is undefined");
    const bool is_int = t.dtype() == DType::i64;
    WSDOL_CHECK(is_int || t.dtype() == DType::f32, "write_irn_cam_npy: ", what, " must be i64 or f32, got ",
                dtype_name(t.dtype()));
    const Tensor c = t.detach().cpu().contiguous();
    reconstruct_head(p);
    p.mark();
    p.integer(1);
    p.int_tuple(c.shape());
    dtype(p, is_int ? "i8" : "f4", "<", 0);
    p.boolean(false);
    std::string data(static_cast<size_t>(c.numel()) * dtype_size(c.dtype()), '\0');
    if (!data.empty()) std::memcpy(data.data(), c.data_ptr(), data.size());  // little-endian host (as npy.cpp)
    raw_bytes(p.bytes(), data);
    p.tuple_from_mark();
    p.bytes() += 'b';  // BUILD
}

}  // namespace

std::string irn_cam_npy_bytes(const IrnCamFile& f) {
    WSDOL_CHECK(f.keys.defined() && f.keys.dim() == 1, "write_irn_cam_npy: keys must be (K)");
    const int64_t K = f.keys.size(0);
    WSDOL_CHECK(f.cam.defined() && f.cam.dim() == 3 && f.cam.size(0) == K, "write_irn_cam_npy: cam must be (", K,
                ", h, w), got ", f.cam.defined() ? shape_str(f.cam.shape()) : std::string("undefined"));
    WSDOL_CHECK(f.high_res.defined() && f.high_res.dim() == 3 && f.high_res.size(0) == K,
                "write_irn_cam_npy: high_res must be (", K, ", H, W), got ",
                f.high_res.defined() ? shape_str(f.high_res.shape()) : std::string("undefined"));
    weights::pickle::Pickler p;
    p.bytes()[1] = '\x03';  // PROTO 3 (SHORT_BINBYTES / BINBYTES are protocol-3 opcodes)
    reconstruct_head(p);
    p.mark();
    p.integer(1);
    p.empty_tuple();
    dtype(p, "O8", "|", 63);
    p.boolean(false);
    p.bytes() += ']';  // EMPTY_LIST
    p.bytes() += '}';  // EMPTY_DICT
    p.mark();
    p.string("keys");
    array(p, f.keys, "keys");
    p.string("cam");
    array(p, f.cam, "cam");
    p.string("high_res");
    array(p, f.high_res, "high_res");
    p.setitems();
    p.bytes() += 'a';  // APPEND the dict to the list
    p.tuple_from_mark();
    p.bytes() += 'b';  // BUILD
    p.stop();

    std::string header = "{'descr': '|O', 'fortran_order': False, 'shape': (), }";
    // numpy pads magic (6) + version (2) + length (2) + header + '\n' to a multiple of 64
    const size_t total = 10 + header.size() + 1;
    header.append((64 - total % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += static_cast<char>(header.size() & 0xFF);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    out += p.bytes();
    return out;
}

void write_irn_cam_npy(const std::string& path, const IrnCamFile& f) {
    io::write_file_atomic(path, irn_cam_npy_bytes(f));
}

}  // namespace wsdol::data
