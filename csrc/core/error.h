#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ember {

// The kind decides which Python exception the bindings raise.
enum class ErrorKind { Value, Type, Index, Runtime, NotImplemented };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
template <class... Args>
[[noreturn]] void raise(ErrorKind kind, const Args&... args) {
  std::ostringstream os;
  append(os, args...);
  throw Error(kind, os.str());
}
}  // namespace detail

}  // namespace ember

// EMBER_CHECK(cond, kind, message parts...): throws ember::Error when cond is false.
#define EMBER_CHECK(cond, kind, ...)                                         \
  do {                                                                       \
    if (!(cond)) ::ember::detail::raise(::ember::ErrorKind::kind, __VA_ARGS__); \
  } while (0)
#define EMBER_THROW(kind, ...) ::ember::detail::raise(::ember::ErrorKind::kind, __VA_ARGS__)
