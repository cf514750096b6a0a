#include "liqsim/json.hpp"

#include <nlohmann/json.hpp>

namespace liqsim {

namespace {

// Builds a JsonValue tree from nlohmann SAX callbacks, keeping number text.
class Builder : public nlohmann::json_sax<nlohmann::json> {
 public:
  JsonValue root;
  std::string error;

  bool null() override { return put(JsonValue{}); }
  bool boolean(bool v) override {
    JsonValue j;
    j.kind = JsonValue::Kind::boolean;
    j.boolean = v;
    return put(std::move(j));
  }
  bool number_integer(number_integer_t v) override { return number(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return number(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& s) override { return number(s); }
  bool string(string_t& v) override {
    JsonValue j;
    j.kind = JsonValue::Kind::string;
    j.text = std::move(v);
    return put(std::move(j));
  }
  bool binary(binary_t&) override {
    error = "binary values are not JSON";
    return false;
  }
  bool start_object(std::size_t) override {
    JsonValue j;
    j.kind = JsonValue::Kind::object;
    return open(std::move(j));
  }
  bool key(string_t& k) override {
    JsonValue* top = stack_.back();
    for (const auto& m : top->members) {
      if (m.first == k) {
        error = "duplicate key '" + k + "'";
        return false;
      }
    }
    pending_key_ = std::move(k);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    JsonValue j;
    j.kind = JsonValue::Kind::array;
    return open(std::move(j));
  }
  bool end_array() override {
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    // nlohmann's text reads "[json.exception.parse_error.101] parse error at line 1, column 5: ...".
    auto pos = what.find("] ");
    error = (pos == std::string::npos ? what : what.substr(pos + 2));
    (void)position;
    return false;
  }

 private:
  bool number(std::string text) {
    JsonValue j;
    j.kind = JsonValue::Kind::number;
    j.text = std::move(text);
    return put(std::move(j));
  }
  // Places a finished scalar (or a new container) where it belongs; returns it.
  JsonValue* place(JsonValue&& v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    JsonValue* top = stack_.back();
    if (top->kind == JsonValue::Kind::array) {
      top->items.push_back(std::move(v));
      return &top->items.back();
    }
    top->members.emplace_back(std::move(pending_key_), std::move(v));
    return &top->members.back().second;
  }
  bool put(JsonValue&& v) {
    place(std::move(v));
    return true;
  }
  bool open(JsonValue&& v) {
    if (stack_.size() >= 64) {
      error = "nesting deeper than 64 levels";
      return false;
    }
    stack_.push_back(place(std::move(v)));
    return true;
  }
  // Pointers stay valid: a container is only appended to while it is the top
  // of the stack, and its parent is not touched until it is closed.
  std::vector<JsonValue*> stack_;
  std::string pending_key_;
};

}  // namespace

JsonValue::JsonValue() = default;
JsonValue::JsonValue(const JsonValue&) = default;
JsonValue::JsonValue(JsonValue&&) noexcept = default;
JsonValue& JsonValue::operator=(const JsonValue&) = default;
JsonValue& JsonValue::operator=(JsonValue&&) noexcept = default;
JsonValue::~JsonValue() = default;

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& m : members)
    if (m.first == key) return &m.second;
  return nullptr;
}

const char* JsonValue::kind_name(Kind k) {
  switch (k) {
    case Kind::null:
      return "null";
    case Kind::boolean:
      return "a boolean";
    case Kind::number:
      return "a number";
    case Kind::string:
      return "a string";
    case Kind::array:
      return "an array";
    case Kind::object:
      return "an object";
  }
  return "?";
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string JsonValue::dump() const {
  switch (kind) {
    case Kind::null:
      return "null";
    case Kind::boolean:
      return boolean ? "true" : "false";
    case Kind::number:
      return text;
    case Kind::string:
      return json_quote(text);
    case Kind::array: {
      std::string out = "[";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out.push_back(',');
        out += items[i].dump();
      }
      return out + "]";
    }
    case Kind::object: {
      std::string out = "{";
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out.push_back(',');
        out += json_quote(members[i].first) + ":" + members[i].second.dump();
      }
      return out + "}";
    }
  }
  return "null";
}

Result<JsonValue> parse_json(std::string_view text) {
  Builder b;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text.begin(), text.end(), &b, nlohmann::json::input_format_t::json,
                                   /*strict=*/true);
  } catch (const std::exception& ex) {
    b.error = ex.what();
    ok = false;
  }
  if (!ok) return make_error(ErrorKind::input, b.error.empty() ? "malformed JSON" : b.error);
  return std::move(b.root);
}

}  // namespace liqsim
