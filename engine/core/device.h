// device.h — where a tensor's storage lives: the CPU, or CUDA device N.
//
// Model code never branches on the device: ops look their kernel up by (op, device, dtype) in the kernel
// registry (ops/registry.h). A build without CUDA simply has no CUDA kernels or allocator registered.
#pragma once
#include <string>

namespace wsdol {

enum class DeviceKind : uint8_t { cpu, cuda };
constexpr int kNumDeviceKinds = 2;

struct Device {
    DeviceKind kind = DeviceKind::cpu;
    int index = 0;

    static Device cpu() { return {DeviceKind::cpu, 0}; }
    static Device cuda(int index = 0) { return {DeviceKind::cuda, index}; }
    static Device parse(const std::string& text);  // "cpu", "cuda", "cuda:1"
    std::string name() const;                      // "cpu", "cuda:0"
    bool is_cpu() const { return kind == DeviceKind::cpu; }
    bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
    bool operator!=(const Device& o) const { return !(*this == o); }
};

}  // namespace wsdol
