// crc32.h — the CRC-32 shared by every container format wsdol reads or writes: zip records (PyTorch
// checkpoints), gzip members (the CLIP vocab) and PNG chunks. One polynomial (ISO-HDLC / IEEE 802.3, reflected
// 0xEDB88320, initial value and final xor 0xFFFFFFFF), so one implementation.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wsdol::io {

// CRC-32 of `size` bytes, continuing from `crc` (the result of the previous piece; 0 to start).
// crc32("123456789") == 0xCBF43926.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace wsdol::io
