// allocator.cpp — the caching allocator and the CPU device's raw allocation.
#include "engine/core/allocator.h"

#include <cstdlib>
#include <cstring>

#include "engine/core/error.h"

namespace wsdol {

std::string Device::name() const { return kind == DeviceKind::cpu ? "cpu" : "cuda:" + std::to_string(index); }

Device Device::parse(const std::string& text) {
    if (text == "cpu") return cpu();
    if (text == "cuda") return cuda(0);
    if (text.rfind("cuda:", 0) == 0) {
        const std::string idx = text.substr(5);
        WSDOL_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos,
                    "bad device '", text, "': expected cpu, cuda or cuda:N");
        return cuda(std::stoi(idx));
    }
    fail(str("bad device '", text, "': expected cpu, cuda or cuda:N"));
}

size_t CachingAllocator::round_size(size_t nbytes) {
    if (nbytes <= 512) return 512;
    if (nbytes <= (1u << 20)) return (nbytes + 511) / 512 * 512;
    size_t pow2 = 1;
    while (pow2 < nbytes) pow2 <<= 1;
    const size_t step = pow2 / 16;  // eighths of the octave [pow2/2, pow2]
    return (nbytes + step - 1) / step * step;
}

CachingAllocator::CachingAllocator(std::string device_name, RawAlloc raw_alloc, RawFree raw_free)
    : device_name_(std::move(device_name)), raw_alloc_(raw_alloc), raw_free_(raw_free) {}

CachingAllocator::~CachingAllocator() { release_cached(); }

void* CachingAllocator::allocate(size_t nbytes) {
    if (nbytes == 0) return nullptr;
    const size_t size = round_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = nullptr;
    auto it = free_blocks_.find(size);
    if (it != free_blocks_.end()) {
        ptr = it->second;
        free_blocks_.erase(it);
        cached_ -= size;
    } else {
        ptr = raw_alloc_(size);
        if (!ptr && cached_ > 0) {  // out of memory: give the cache back and try once more
            for (auto& [sz, block] : free_blocks_) raw_free_(block);
            free_blocks_.clear();
            cached_ = 0;
            ptr = raw_alloc_(size);
        }
        WSDOL_CHECK(ptr, "out of memory on ", device_name_, ": requested ", nbytes, " bytes (", in_use_,
                    " bytes in use)");
    }
    in_use_ += size;
    if (in_use_ > peak_) peak_ = in_use_;
    return ptr;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) {
    if (!ptr) return;
    const size_t size = round_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    free_blocks_.emplace(size, ptr);
    in_use_ -= size;
    cached_ += size;
}

void CachingAllocator::release_cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, block] : free_blocks_) raw_free_(block);
    free_blocks_.clear();
    cached_ = 0;
}

namespace {
void* cpu_raw_alloc(size_t nbytes) { return std::aligned_alloc(64, (nbytes + 63) / 64 * 64); }
void cpu_raw_free(void* ptr) { std::free(ptr); }

Allocator*& allocator_slot(DeviceKind kind) {
    static Allocator* slots[kNumDeviceKinds] = {nullptr, nullptr};
    return slots[static_cast<int>(kind)];
}
}  // namespace

void register_allocator(DeviceKind kind, Allocator* allocator) { allocator_slot(kind) = allocator; }

Allocator& allocator_for(Device device) {
    if (device.kind == DeviceKind::cpu) {
        // Leaked on purpose: storages may be freed during static destruction.
        static Allocator* cpu = new CachingAllocator("cpu", cpu_raw_alloc, cpu_raw_free);
        return *cpu;
    }
    Allocator* a = allocator_slot(device.kind);
    WSDOL_CHECK(a, "no allocator for device ", device.name(), " (this build has no CUDA backend)");
    return *a;
}

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
    data_ = allocator_for(device).allocate(nbytes);
}

Storage::Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> keep_alive)
    : data_(data), nbytes_(nbytes), device_(device), owned_(false), keep_alive_(std::move(keep_alive)) {}

Storage::~Storage() {
    if (owned_ && data_) allocator_for(device_).deallocate(data_, nbytes_);
}

}  // namespace wsdol
