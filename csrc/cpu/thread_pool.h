// One thread pool for the process. parallel_for splits [0, n) into chunks that the calling thread
// and the workers claim from an atomic counter; idle workers spin briefly, then sleep.
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>

namespace ember::cpu {

// A non-owning reference to a callable void(int64_t begin, int64_t end).
class RangeFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RangeFn>>>
  RangeFn(F&& f)  // NOLINT: implicit so lambdas convert
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e); }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

// Threads used by parallel_for (the caller included). Set from EMBER_NUM_THREADS at start-up,
// otherwise the number of physical cores this process may run on.
int num_threads();
void set_num_threads(int n);
int default_num_threads();

// Calls fn(begin, end) over chunks covering [0, n), each of at least `grain` items (except the
// last), and returns when all are done. Runs inline when n <= grain, when one thread is configured,
// or when called from inside another parallel_for. An exception thrown by fn is rethrown here.
void parallel_for(int64_t n, int64_t grain, RangeFn fn);

// True on a pool worker thread or inside a running parallel_for.
bool in_parallel_region();

}  // namespace ember::cpu
