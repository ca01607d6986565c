#pragma once
// Whether this test binary runs under AddressSanitizer, which reserves terabytes of address space
// and so cannot run under an address-space limit (ulimit -v, RLIMIT_AS).
namespace klab::testing {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool address_sanitizer = true;
#else
constexpr bool address_sanitizer = false;
#endif
#else
constexpr bool address_sanitizer = false;
#endif

}  // namespace klab::testing
