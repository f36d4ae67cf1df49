// The `vigil` binary's global operator new/delete: malloc and free plus the
// counts that `vigil bench` reports (allocations per segment, heap bytes per
// idle connection; sim/bench.hpp). One relaxed atomic add each way.
#include <malloc.h>

#include <cstdlib>
#include <new>

#include "sim/bench.hpp"

namespace {

struct EnableCounting {
  EnableCounting() { vigil::sim::bench::heap_counters().counting = true; }
} enable_counting;

void* counted_alloc(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  auto& c = vigil::sim::bench::heap_counters();
  c.allocations.fetch_add(1, std::memory_order_relaxed);
  c.live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) noexcept {
  if (!p) return;
  vigil::sim::bench::heap_counters().live_bytes.fetch_sub(
      static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them), or
// they would come from another allocator and be freed here (ASan reports
// the mismatch).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }
