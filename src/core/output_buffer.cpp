// include/medimg/core/output_buffer.hpp.
#include "medimg/core/output_buffer.hpp"

#include <utility>

namespace medimg {

namespace {
thread_local OutputBuffer::Provider current;
}  // namespace

OutputBuffer::Scope::Scope(Provider provider)
    : m_previous(std::exchange(current, std::move(provider))) {}

OutputBuffer::Scope::~Scope() {
  current = std::move(m_previous);
}

void* OutputBuffer::claim(PixelType type, std::size_t n0, std::size_t n1, std::size_t n2) {
  if (!current) return nullptr;
  // Asked once: the provider is gone before it runs (it may allocate).
  const Provider provider = std::exchange(current, Provider{});
  return provider(type, {n0, n1, n2});
}

}  // namespace medimg
