// weights_file.h — read any supported weight file into named tensors, and write PyTorch-readable files.
//
// Formats (detected from the bytes, never from the extension, in PyTorch's order: zip → tar → pickle stream):
//   safetensors                      (engine/io/safetensors.h does the parsing)
//   PyTorch zip (.pt/.pth, torch.save since 1.6) through the restricted unpickler (weights/pickle.h)
//   TorchScript archive (OpenAI CLIP releases): tensors recovered by attribute path from the module tree
//   legacy pickle stream (torch.save(..., _use_new_zipfile_serialization=False))
//   legacy tar (PyTorch <= 0.3): refused with a message saying how to convert
// Every tensor keeps the dtype its storage says (f16 stays f16); Module::load_state_dict converts on copy.
// (int8/int16/uint16 storages widen to int32 and uint32 to int64, losslessly, as the safetensors reader does;
// complex, quantized, float8 and uint64 tensors are errors naming the tensor.)
//
// How the pieces fit (details in each header):
//   weights/zip_archive.h       zip container: ZIP64, 64-byte aligned stored records mapped without a copy,
//                               CRC-32 checked, deflate through stb_image when linked; every offset validated
//   weights/pickle.h            the restricted unpickler: allow-listed globals only, never executes anything;
//                               dangerous globals (os.system, builtins.eval, ...) refuse the file; other unknown
//                               globals become opaque values
//   weights/torch_state_dict.h  which object is the state_dict (opaque values are tolerated only as skipped
//                               siblings of it); the TorchScript walk (parameters and buffers per the archive's
//                               __parameters__ / __buffers__ class lines; CLIP's JIT scalars dropped)
//   weights/torch_tensors.h     tensors over storage bytes: strides, offsets, shared storages, byte order
// Zero copy: safetensors tensors and aligned, contiguous PyTorch-zip tensors point into a private (copy-on-write)
// mapping of the file, which they keep alive; views of one storage share one Storage, as in PyTorch.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor/tensor.h"

namespace wsdol::weights {

enum class Format { safetensors, torch_zip, torchscript, torch_legacy_pickle, torch_legacy_tar };
const char* format_name(Format format);

struct WeightsFile {
    std::string path;
    Format format = Format::safetensors;
    NamedTensors tensors;               // in file order; the state_dict chosen as described below
    std::string state_dict_key;         // "" for a top-level state_dict, else "model" / "state_dict" / ...
    bool stripped_module_prefix = false;  // a DataParallel "module." prefix was removed from every name
    std::vector<std::string> skipped;   // non-tensor entries left out (e.g. "args: argparse.Namespace (unsupported)")
};

// Reads `path`; throws wsdol::Error naming the file and what is wrong (truncated, corrupt, unsupported global...).
// The state_dict is the top object if it maps names to tensors, else obj["model"] / obj["state_dict"] /
// obj["model_state_dict"]; a "module." prefix on every name is stripped. A wsdol training checkpoint
// (engine/io/checkpoint.h) gives its "model." tensors without the prefix (state_dict_key "model").
WeightsFile read_weights(const std::string& path);
// The same over bytes in memory (tests, fuzzing); `label` names them in errors.
WeightsFile read_weights_from_bytes(std::string bytes, const std::string& label = "<memory>");

// Writes a PyTorch zip checkpoint that torch.load (weights_only=True) opens as an OrderedDict of tensors.
// Written atomically (temp file + rename).
void write_torch_zip(const std::string& path, const NamedTensors& tensors);

struct TorchZipOptions {
    std::string archive_name;   // the records' top folder; "" = the file's stem (as torch.save), "archive" in memory
    bool force_zip64 = false;   // ZIP64 extra fields on every record (tests: readers must handle both layouts)
};
void write_torch_zip(const std::string& path, const NamedTensors& tensors, const TorchZipOptions& options);
// The same file as bytes in memory.
std::string torch_zip_bytes(const NamedTensors& tensors, const TorchZipOptions& options = {});

}  // namespace wsdol::weights
