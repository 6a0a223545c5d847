// allocator.h — storage for tensors: one caching allocator per device.
//
// Storage is a ref-counted block of bytes on one device. Freed blocks go back to the device's allocator, which
// keeps them in size-keyed free lists for reuse (as PyTorch's caching allocators do), so a training step that
// allocates the same activation sizes every iteration stops calling the system allocator after the first one.
// CPU blocks are 64-byte aligned (AVX-512 loads; one cache line).
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>

#include "engine/core/device.h"

namespace wsdol {

class Allocator {
public:
    virtual ~Allocator() = default;
    virtual void* allocate(size_t nbytes) = 0;  // never returns null for nbytes > 0; throws wsdol::Error
    virtual void deallocate(void* ptr, size_t nbytes) = 0;
    virtual void release_cached() = 0;           // return cached blocks to the system
    virtual size_t bytes_in_use() const = 0;
    virtual size_t peak_bytes_in_use() const = 0;
    virtual size_t bytes_cached() const = 0;
};

// Caching allocator over a raw allocate/free pair. Sizes are rounded up (to 512 bytes, then to 1/8 steps of the
// power of two above 1 MiB) so that nearby sizes share blocks.
class CachingAllocator : public Allocator {
public:
    using RawAlloc = void* (*)(size_t nbytes);
    using RawFree = void (*)(void* ptr);
    CachingAllocator(std::string device_name, RawAlloc raw_alloc, RawFree raw_free);
    ~CachingAllocator() override;
    void* allocate(size_t nbytes) override;
    void deallocate(void* ptr, size_t nbytes) override;
    void release_cached() override;
    size_t bytes_in_use() const override { return in_use_; }
    size_t peak_bytes_in_use() const override { return peak_; }
    size_t bytes_cached() const override { return cached_; }
    static size_t round_size(size_t nbytes);

private:
    std::string device_name_;
    RawAlloc raw_alloc_;
    RawFree raw_free_;
    mutable std::mutex mutex_;
    std::multimap<size_t, void*> free_blocks_;  // rounded size -> block
    size_t in_use_ = 0, peak_ = 0, cached_ = 0;
};

// The allocator of a device; throws if that device kind has none registered (e.g. CUDA in a CPU-only build).
Allocator& allocator_for(Device device);
void register_allocator(DeviceKind kind, Allocator* allocator);  // backends call this at start-up

// A block of bytes on one device. Deallocates through its allocator when the last owner goes.
class Storage {
public:
    Storage(size_t nbytes, Device device);
    // Wraps memory owned elsewhere (a memory-mapped file, say); `keep_alive` is held until the storage dies.
    Storage(void* data, size_t nbytes, Device device, std::shared_ptr<void> keep_alive);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;
    void* data() const { return data_; }
    size_t nbytes() const { return nbytes_; }
    Device device() const { return device_; }

private:
    void* data_ = nullptr;
    size_t nbytes_ = 0;
    Device device_;
    bool owned_ = true;
    std::shared_ptr<void> keep_alive_;
};

}  // namespace wsdol
