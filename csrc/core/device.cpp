#include "core/device.h"

#include <charconv>

#include "core/error.h"

namespace ember {

Device Device::parse(std::string_view text) {
  std::string_view kind = text, index_text;
  if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    kind = text.substr(0, colon);
    index_text = text.substr(colon + 1);
  }
  Device d;
  if (kind == "cpu") {
    d.type = DeviceType::CPU;
  } else if (kind == "cuda") {
    d.type = DeviceType::CUDA;
  } else if (kind == "metal" || kind == "mps") {
    d.type = DeviceType::Metal;
  } else {
    EMBER_THROW(Value, "unknown device '", std::string(text), "'; expected 'cpu', 'cuda', 'cuda:N' or 'metal'");
  }
  if (!index_text.empty()) {
    int idx = -1;
    auto [ptr, ec] = std::from_chars(index_text.data(), index_text.data() + index_text.size(), idx);
    EMBER_CHECK(ec == std::errc() && ptr == index_text.data() + index_text.size() && idx >= 0, Value,
                "invalid device index in '", std::string(text), "'");
    EMBER_CHECK(d.type != DeviceType::CPU || idx == 0, Value, "device 'cpu' has only index 0, got '",
                std::string(text), "'");
    d.index = idx;
  }
  return d;
}

std::string Device::str() const {
  switch (type) {
    case DeviceType::CPU: return "cpu";
    case DeviceType::CUDA: return "cuda:" + std::to_string(index);
    case DeviceType::Metal: return index == 0 ? "metal" : "metal:" + std::to_string(index);
  }
  return "?";
}

}  // namespace ember
