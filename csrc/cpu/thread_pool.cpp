#include "cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace ember::cpu {

namespace {

thread_local bool t_in_parallel = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

struct Job {
  RangeFn* fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 1;
  int64_t num_chunks = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex error_mutex;
  std::exception_ptr error;

  // Claims and runs chunks until none are left.
  void work() {
    for (;;) {
      const int64_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= num_chunks) return;
      const int64_t begin = c * chunk, end = std::min(n, begin + chunk);
      try {
        (*fn)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
      done.fetch_add(1, std::memory_order_acq_rel);
    }
  }
};

class Pool {
 public:
  static Pool& get() {
    static Pool* pool = new Pool();  // never destroyed: workers may outlive static destructors
    return *pool;
  }

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void resize(int n) {
    n = std::max(1, n);
    std::lock_guard<std::mutex> lock(submit_mutex_);
    threads_.store(n, std::memory_order_relaxed);
    while (static_cast<int>(workers_.size()) < n - 1) {
      const int id = static_cast<int>(workers_.size());
      // The generation at spawn: a job published before the thread gets going is still seen.
      const uint64_t start = generation_.load(std::memory_order_acquire);
      workers_.emplace_back([this, id, start] { worker_loop(id, start); });
      workers_.back().detach();
    }
  }

  void run(int64_t n, int64_t grain, RangeFn fn) {
    const int nthreads = threads();
    grain = std::max<int64_t>(grain, 1);
    if (n <= 0) return;
    if (nthreads <= 1 || n <= grain || t_in_parallel) {
      fn(0, n);
      return;
    }
    std::unique_lock<std::mutex> lock(submit_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {  // another Python thread is using the pool: run here
      fn(0, n);
      return;
    }
    // About 4 chunks per thread balances load without much claiming overhead.
    int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(nthreads) * 4);
    Job job;
    job.fn = &fn;
    job.n = n;
    job.chunk = (n + chunks - 1) / chunks;
    job.num_chunks = (n + job.chunk - 1) / job.chunk;
    job_.store(&job, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();

    t_in_parallel = true;
    job.work();
    t_in_parallel = false;
    while (job.done.load(std::memory_order_acquire) < job.num_chunks) cpu_relax();
    // Workers that have not yet seen this job must not touch it after we return.
    // Sequentially consistent: pairs with the worker's busy_ increment before it loads job_.
    job_.store(nullptr);
    while (busy_.load() != 0) cpu_relax();
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  Pool() { resize(default_num_threads()); }

  void worker_loop(int id, uint64_t seen) {
    t_in_parallel = true;
    for (;;) {
      // Spin a little (a decode loop submits jobs back to back), then sleep on the generation.
      int spins = 0;
      uint64_t g;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spins < 20000) {
          cpu_relax();
        } else {
          generation_.wait(seen, std::memory_order_acquire);
        }
      }
      seen = g;
      if (id >= threads() - 1) continue;  // this worker is not in use at the current size
      busy_.fetch_add(1);
      Job* job = job_.load();
      if (job) job->work();
      busy_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  std::atomic<int> threads_{1};
  std::atomic<uint64_t> generation_{0};
  std::atomic<Job*> job_{nullptr};
  std::atomic<int> busy_{0};
  std::mutex submit_mutex_;
  std::vector<std::thread> workers_;
};

int count_physical_cores() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return std::max(1u, std::thread::hardware_concurrency());
  std::set<std::pair<std::string, std::string>> cores;
  int logical = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    ++logical;
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream pkg(base + "physical_package_id"), core(base + "core_id");
    std::string p, c;
    if (!(pkg >> p) || !(core >> c)) return logical > 0 ? CPU_COUNT(&set) : 1;
    cores.insert({p, c});
  }
  return std::max<int>(1, static_cast<int>(cores.size()));
#else
  return std::max(1u, std::thread::hardware_concurrency());
#endif
}

}  // namespace

int default_num_threads() {
  if (const char* env = std::getenv("EMBER_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  static const int physical = count_physical_cores();
  return physical;
}

int num_threads() { return Pool::get().threads(); }
void set_num_threads(int n) { Pool::get().resize(n); }
void parallel_for(int64_t n, int64_t grain, RangeFn fn) { Pool::get().run(n, grain, fn); }
bool in_parallel_region() { return t_in_parallel; }

}  // namespace ember::cpu
