#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ember {

enum class DeviceType : uint8_t { CPU, CUDA, Metal };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static Device cpu() { return {}; }
  // "cpu", "cuda", "cuda:1", "metal", "metal:0". Throws ValueError on anything else.
  static Device parse(std::string_view text);
  std::string str() const;  // "cpu", "cuda:0", "metal"
  bool is_cpu() const { return type == DeviceType::CPU; }
  friend bool operator==(Device a, Device b) { return a.type == b.type && a.index == b.index; }
  friend bool operator!=(Device a, Device b) { return !(a == b); }
};

}  // namespace ember
