// mapped_file.h — a whole file memory-mapped for zero-copy readers (safetensors, PyTorch zip records).
//
// The mapping is MAP_PRIVATE and writable where the system allows it (copy-on-write: a tensor that wraps mapped
// bytes may be written in place without ever touching the file). A writable private mapping counts against the
// commit limit (vm.overcommit_memory = 2); when it is refused the file is mapped read-only and `writable` is false,
// so readers copy instead of wrapping. An empty file maps to no bytes (mmap refuses empty ranges); the caller's
// format check reports it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace wsdol::io {

struct MappedFile {
    const uint8_t* data = nullptr;
    uint64_t size = 0;
    bool writable = false;
    std::shared_ptr<void> owner;  // unmaps when the last holder (the reader, or a tensor storage) lets go
};

// Throws wsdol::Error("<reader>: <path>: cannot open|stat|mmap ...: <reason>" or "... not a regular file").
MappedFile map_file(const std::string& path, const std::string& reader);

}  // namespace wsdol::io
