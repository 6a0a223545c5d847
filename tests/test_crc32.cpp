// test_crc32.cpp — engine/io/crc32, the one CRC-32 behind zip records, gzip members and PNG chunks.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "engine/io/crc32.h"

namespace wsdol {
namespace {

TEST(Crc32, CheckValueEmptyInputAndRunningPieces) {
    EXPECT_EQ(io::crc32("123456789", 9), 0xCBF43926u);  // the CRC-32 check value
    EXPECT_EQ(io::crc32("", 0), 0u);
    EXPECT_EQ(io::crc32("56789", 5, io::crc32("1234", 4)), 0xCBF43926u);  // a running CRC over two pieces
}

TEST(Crc32, MatchesTheBitwiseDefinitionForEveryLengthAndAlignment) {
    // crc32 folds 64-byte blocks with carry-less multiplication where the CPU has PCLMULQDQ and uses
    // slicing-by-8 tables otherwise; both must equal the bit-at-a-time definition, split or not.
    auto reference = [](const uint8_t* p, size_t n) {
        uint32_t c = ~0u;
        for (size_t i = 0; i < n; ++i) {
            c ^= p[i];
            for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        }
        return ~c;
    };
    std::mt19937 rng(5);
    std::vector<uint8_t> buf(3000);
    for (uint8_t& b : buf) b = static_cast<uint8_t>(rng());
    for (size_t offset = 0; offset < 16; ++offset) {
        for (size_t n = 0; n < 2900; n += n < 300 ? 1 : 41) {
            const uint8_t* p = buf.data() + offset;
            const uint32_t want = reference(p, n);
            ASSERT_EQ(io::crc32(p, n), want) << "offset " << offset << " length " << n;
            ASSERT_EQ(io::crc32(p + n / 3, n - n / 3, io::crc32(p, n / 3)), want);
        }
    }
}

}  // namespace
}  // namespace wsdol
