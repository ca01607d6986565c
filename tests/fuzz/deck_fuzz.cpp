// libFuzzer target over the deck parser and validator: any bytes given as a deck either parse into
// a deck or raise a DeckError whose message is one line. Any other exception, crash, sanitizer
// report or hang is a bug (libFuzzer reports an escaping exception as a deadly signal).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/deck.hpp"
#include "stages/registry.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    klab::parse_deck(text, "fuzz.yaml", klab::stage_registry());
  } catch (const klab::DeckError& e) {
    if (std::string(e.what()).find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
