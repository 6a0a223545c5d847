// mapped_file.cpp — see mapped_file.h.
#include "engine/io/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/error.h"

namespace wsdol::io {
namespace {

struct Mapping {
    void* addr = nullptr;
    size_t size = 0;
    ~Mapping() {
        if (addr) ::munmap(addr, size);
    }
};

}  // namespace

MappedFile map_file(const std::string& path, const std::string& reader) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(str(reader, ": ", path, ": cannot open: ", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int saved = errno;
        ::close(fd);
        fail(str(reader, ": ", path, ": cannot stat: ", std::strerror(saved)));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        fail(str(reader, ": ", path, ": not a regular file"));
    }
    MappedFile m;
    m.size = static_cast<uint64_t>(st.st_size);
    if (m.size == 0) {
        ::close(fd);
        static const uint8_t nothing = 0;
        m.data = &nothing;
        return m;
    }
    void* addr = ::mmap(nullptr, m.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    m.writable = addr != MAP_FAILED;
    if (addr == MAP_FAILED) addr = ::mmap(nullptr, m.size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int saved = errno;
    ::close(fd);  // the mapping stays valid without the descriptor
    if (addr == MAP_FAILED) fail(str(reader, ": ", path, ": cannot mmap ", m.size, " bytes: ", std::strerror(saved)));
    auto mapping = std::make_shared<Mapping>();
    mapping->addr = addr;
    mapping->size = m.size;
    m.data = static_cast<const uint8_t*>(addr);
    m.owner = std::move(mapping);
    return m;
}

}  // namespace wsdol::io
