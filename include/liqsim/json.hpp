// json.hpp — JSON read exactly.
//
// A small document type whose numbers keep their source text, so a JSON
// number such as 63250.50000001 reaches the fixed-point parser digit for
// digit (CONTRACT §1: never through double). Objects keep member order and
// refuse duplicate keys. Parsing is done by nlohmann_json's SAX interface;
// this header exposes no third-party type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "liqsim/error.hpp"

namespace liqsim {

class JsonValue {
 public:
  enum class Kind : std::uint8_t { null, boolean, number, string, array, object };

  Kind kind = Kind::null;
  bool boolean = false;
  std::string text;                                        // string contents, or a number's source text
  std::vector<JsonValue> items;                            // array
  std::vector<std::pair<std::string, JsonValue>> members;  // object, in source order

  // Special members declared here and defaulted in json.cpp: `members` holds
  // pair<string, JsonValue> while JsonValue is still incomplete, and clang
  // with libstdc++ rejects the implicit ones (it instantiates pair's
  // constructibility traits, which need ~JsonValue, inside JsonValue).
  JsonValue();
  JsonValue(const JsonValue&);
  JsonValue(JsonValue&&) noexcept;
  JsonValue& operator=(const JsonValue&);
  JsonValue& operator=(JsonValue&&) noexcept;
  ~JsonValue();

  bool is_object() const { return kind == Kind::object; }
  bool is_string() const { return kind == Kind::string; }
  bool is_number() const { return kind == Kind::number; }
  const JsonValue* find(std::string_view key) const;

  // Compact canonical text: members in source order, numbers as their text.
  std::string dump() const;
  static const char* kind_name(Kind k);
};

// Parse one JSON document. The error's message says what and where (column).
Result<JsonValue> parse_json(std::string_view text);

// JSON string literal with escapes, including the quotes.
std::string json_quote(std::string_view s);

}  // namespace liqsim
