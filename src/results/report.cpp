// report.cpp — `liqsim report`: a self-contained HTML page from a results database.
//
// Reads the database (read-only) and writes one HTML file whose charts are
// inline SVG drawn here: no script, no network, no external font. The page is
// a pure function of the database contents, so the same database gives the
// same bytes.
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "liqsim/jsonl.hpp"
#include "liqsim/output_file.hpp"
#include "liqsim/results.hpp"

namespace liqsim {

namespace {

// ---------------------------------------------------------------- text helpers

std::string esc(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string fmt(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Short human number: 1.25M, 950k, 12.5, 0.0031.
std::string human(double v) {
  double a = std::fabs(v);
  auto trim = [](std::string s) {
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
    }
    if (s == "-0") s = "0";
    return s;
  };
  if (a >= 1e12) return trim(fmt(v / 1e12, 2)) + "T";
  if (a >= 1e9) return trim(fmt(v / 1e9, 2)) + "B";
  if (a >= 1e6) return trim(fmt(v / 1e6, 2)) + "M";
  if (a >= 1e4) return trim(fmt(v / 1e3, 1)) + "k";
  if (a >= 100) return trim(fmt(v, 1));
  if (a >= 1) return trim(fmt(v, 3));
  return trim(fmt(v, 6));
}

std::string time_label(std::int64_t ms, bool with_date, bool with_seconds) {
  std::string t = format_rfc3339(ms);  // 2020-03-12T10:15:00Z or with .250
  std::string date = t.substr(5, 5);
  std::string hm = t.substr(11, with_seconds ? 8 : 5);
  return with_date ? date + " " + hm : hm;
}

// ---------------------------------------------------------------- SVG charts

const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
const char* color_of(std::size_t i) { return kPalette[i % (sizeof kPalette / sizeof kPalette[0])]; }

struct Series {
  enum class Kind { line, step, markers, bars, stems, band };
  Kind kind = Kind::line;
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (x, y); for band: (x, low) and `high`
  std::vector<double> high;                       // band only
  double bar_width = 0;                           // bars: width in x units
  bool in_legend = true;
};

struct Chart {
  std::string id;
  std::string title;
  std::string x_label;
  std::string y_label;
  bool x_is_time = true;      // x in epoch ms
  bool x_is_minutes = false;  // x in elapsed minutes
  bool y_from_zero = false;
  bool fixed_x = false;  // use [x_min, x_max] (the run's event time) instead of the data's range
  double x_min = 0, x_max = 0;
  int width = 1240;
  int height = 330;
  std::vector<Series> series;
};

double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / p;
  double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return n * p;
}

std::vector<double> value_ticks(double lo, double hi, int target) {
  double step = nice_step((hi - lo) / target);
  std::vector<double> t;
  double start = std::ceil(lo / step - 1e-9) * step;
  for (double v = start; v <= hi + step * 1e-9 && t.size() < 40; v += step)
    t.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::vector<double> time_ticks(double lo, double hi, int target) {
  static const double steps[] = {1e3,      2e3,       5e3,      1e4,       3e4,       6e4,       2 * 6e4,
                                 5 * 6e4,  10 * 6e4,  15 * 6e4, 30 * 6e4,  36e5,      2 * 36e5,  3 * 36e5,
                                 6 * 36e5, 12 * 36e5, 864e5,    2 * 864e5, 7 * 864e5, 30 * 864e5};
  double raw = (hi - lo) / target;
  double step = steps[sizeof steps / sizeof steps[0] - 1];
  for (double s : steps)
    if (s >= raw) {
      step = s;
      break;
    }
  std::vector<double> t;
  double start = std::ceil(lo / step) * step;
  for (double v = start; v <= hi && t.size() < 40; v += step) t.push_back(v);
  return t;
}

class Plot {
 public:
  Plot(const Chart& c) : c_(c) {}

  std::string render() {
    compute_ranges();
    std::string s;
    s += "<figure class=\"chart\" id=\"" + esc(c_.id) + "\">\n";
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(c_.width) + "\" height=\"" +
         std::to_string(c_.height) + "\" viewBox=\"0 0 " + std::to_string(c_.width) + " " +
         std::to_string(c_.height) + "\" role=\"img\" aria-label=\"" + esc(c_.title) + "\">\n";
    s += "<title>" + esc(c_.title) + "</title>\n";
    s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(c_.width) + "\" height=\"" +
         std::to_string(c_.height) + "\" fill=\"#ffffff\"/>\n";
    s += "<text class=\"ctitle\" x=\"" + num(left_) + "\" y=\"22\">" + esc(c_.title) + "</text>\n";
    axes(s);
    if (!has_data_) {
      s += "<text class=\"empty\" x=\"" + num((left_ + right()) / 2) + "\" y=\"" +
           num((top_ + bottom()) / 2) + "\" text-anchor=\"middle\">no data in this run</text>\n";
    }
    s += "<g clip-path=\"url(#clip-" + esc(c_.id) + ")\">\n";
    for (const Series& se : c_.series) draw(s, se);
    s += "</g>\n";
    legend(s);
    s += "</svg>\n</figure>\n";
    return s;
  }

 private:
  const Chart& c_;
  double left_ = 86, right_pad_ = 24, top_ = 42, bottom_pad_ = 52;
  double x0_ = 0, x1_ = 1, y0_ = 0, y1_ = 1;
  bool has_data_ = false;

  double right() const { return c_.width - right_pad_; }
  double bottom() const { return c_.height - bottom_pad_; }
  double px(double x) const { return left_ + (x - x0_) / (x1_ - x0_) * (right() - left_); }
  double py(double y) const { return bottom() - (y - y0_) / (y1_ - y0_) * (bottom() - top_); }
  static std::string num(double v) { return fmt(v, 1); }

  void compute_ranges() {
    double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
    for (const Series& se : c_.series) {
      for (std::size_t i = 0; i < se.points.size(); ++i) {
        auto [x, y] = se.points[i];
        xl = std::min(xl, x);
        xh = std::max(xh, x + (se.kind == Series::Kind::bars ? se.bar_width : 0));
        yl = std::min(yl, y);
        yh = std::max(yh, y);
        if (se.kind == Series::Kind::band && i < se.high.size()) yh = std::max(yh, se.high[i]);
        has_data_ = true;
      }
    }
    if (!has_data_) {
      xl = 0;
      xh = c_.x_is_time ? 3.6e6 : 1;
      yl = 0;
      yh = 1;
    }
    if (c_.fixed_x && c_.x_max > c_.x_min) {
      xl = c_.x_min;
      xh = c_.x_max;
    }
    if (c_.y_from_zero) {
      yl = std::min(yl, 0.0);
      yh = std::max(yh, 0.0);
    }
    if (xh <= xl) {
      double pad = c_.x_is_time ? 6e4 : 1;
      xl -= pad;
      xh += pad;
    }
    if (yh <= yl) {
      double pad = std::fabs(yh) > 0 ? std::fabs(yh) * 0.05 : 1;
      yl -= pad;
      yh += pad;
    } else {
      double pad = (yh - yl) * 0.06;
      if (!(c_.y_from_zero && yl == 0)) yl -= pad;
      yh += pad;
    }
    x0_ = xl;
    x1_ = xh;
    y0_ = yl;
    y1_ = yh;
  }

  void axes(std::string& s) {
    s += "<defs><clipPath id=\"clip-" + esc(c_.id) + "\"><rect x=\"" + num(left_) + "\" y=\"" + num(top_) +
         "\" width=\"" + num(right() - left_) + "\" height=\"" + num(bottom() - top_) +
         "\"/></clipPath></defs>\n";
    s += "<rect x=\"" + num(left_) + "\" y=\"" + num(top_) + "\" width=\"" + num(right() - left_) +
         "\" height=\"" + num(bottom() - top_) + "\" fill=\"#fbfcfe\" stroke=\"#c9d1dc\"/>\n";
    // y ticks and grid
    for (double v : value_ticks(y0_, y1_, 6)) {
      double y = py(v);
      s += "<line class=\"grid\" x1=\"" + num(left_) + "\" y1=\"" + num(y) + "\" x2=\"" + num(right()) +
           "\" y2=\"" + num(y) + "\"/>";
      s += "<text class=\"tick\" x=\"" + num(left_ - 6) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" +
           esc(human(v)) + "</text>\n";
    }
    // x ticks
    std::vector<double> xt = c_.x_is_time ? time_ticks(x0_, x1_, 8) : value_ticks(x0_, x1_, 8);
    bool with_date = c_.x_is_time && (x1_ - x0_) > 864e5 * 0.9;
    bool with_seconds = c_.x_is_time && (x1_ - x0_) < 6e5;
    if (c_.x_is_time && !xt.empty()) {
      // Show the date when ticks cross midnight.
      std::string first = format_rfc3339(static_cast<std::int64_t>(xt.front())).substr(0, 10);
      std::string last = format_rfc3339(static_cast<std::int64_t>(xt.back())).substr(0, 10);
      if (first != last) with_date = true;
    }
    for (double v : xt) {
      double x = px(v);
      s += "<line class=\"grid\" x1=\"" + num(x) + "\" y1=\"" + num(top_) + "\" x2=\"" + num(x) + "\" y2=\"" +
           num(bottom()) + "\"/>";
      s += "<line class=\"axis\" x1=\"" + num(x) + "\" y1=\"" + num(bottom()) + "\" x2=\"" + num(x) +
           "\" y2=\"" + num(bottom() + 5) + "\"/>";
      std::string label =
          c_.x_is_time ? time_label(static_cast<std::int64_t>(v), with_date, with_seconds) : human(v);
      s += "<text class=\"tick\" x=\"" + num(x) + "\" y=\"" + num(bottom() + 19) +
           "\" text-anchor=\"middle\">" + esc(label) + "</text>\n";
    }
    s += "<line class=\"axis\" x1=\"" + num(left_) + "\" y1=\"" + num(bottom()) + "\" x2=\"" + num(right()) +
         "\" y2=\"" + num(bottom()) + "\"/>\n";
    s += "<line class=\"axis\" x1=\"" + num(left_) + "\" y1=\"" + num(top_) + "\" x2=\"" + num(left_) +
         "\" y2=\"" + num(bottom()) + "\"/>\n";
    s += "<text class=\"alabel\" x=\"" + num((left_ + right()) / 2) + "\" y=\"" + num(c_.height - 10.0) +
         "\" text-anchor=\"middle\">" + esc(c_.x_label) + "</text>\n";
    s += "<text class=\"alabel\" transform=\"translate(18 " + num((top_ + bottom()) / 2) +
         ") rotate(-90)\" text-anchor=\"middle\">" + esc(c_.y_label) + "</text>\n";
  }

  // Line points reduced to at most first/min/max/last per pixel column.
  std::vector<std::pair<double, double>> reduce(const std::vector<std::pair<double, double>>& pts) const {
    if (pts.size() < 4000) return pts;
    std::vector<std::pair<double, double>> out;
    long column = -1;
    std::pair<double, double> first{}, lo{}, hi{}, last{};
    auto flush = [&] {
      if (column < 0) return;
      std::vector<std::pair<double, double>> four{first, lo, hi, last};
      std::stable_sort(four.begin(), four.end(), [](auto& a, auto& b) { return a.first < b.first; });
      for (auto& p : four)
        if (out.empty() || out.back() != p) out.push_back(p);
    };
    for (const auto& p : pts) {
      long col = std::lround(px(p.first));
      if (col != column) {
        flush();
        column = col;
        first = lo = hi = last = p;
      } else {
        if (p.second < lo.second) lo = p;
        if (p.second > hi.second) hi = p;
        last = p;
      }
    }
    flush();
    return out;
  }

  void draw(std::string& s, const Series& se) {
    const std::string& color = se.color;
    switch (se.kind) {
      case Series::Kind::line:
      case Series::Kind::step: {
        auto pts = reduce(se.points);
        if (pts.empty()) return;
        std::string d;
        for (std::size_t i = 0; i < pts.size(); ++i) {
          double x = px(pts[i].first), y = py(pts[i].second);
          if (i == 0)
            d += "M" + num(x) + " " + num(y);
          else if (se.kind == Series::Kind::step)
            d += "H" + num(x) + "V" + num(y);
          else
            d += "L" + num(x) + " " + num(y);
        }
        if (se.kind == Series::Kind::step) d += "H" + num(right());
        s += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.8\"/>\n";
        break;
      }
      case Series::Kind::band: {
        if (se.points.empty()) return;
        std::string d;
        for (std::size_t i = 0; i < se.points.size(); ++i)
          d += (i ? "L" : "M") + num(px(se.points[i].first)) + " " + num(py(se.high[i]));
        for (std::size_t i = se.points.size(); i-- > 0;)
          d += "L" + num(px(se.points[i].first)) + " " + num(py(se.points[i].second));
        s += "<path d=\"" + d + "Z\" fill=\"" + color + "\" fill-opacity=\"0.15\" stroke=\"none\"/>\n";
        break;
      }
      case Series::Kind::markers: {
        std::set<std::pair<long, long>> seen;  // one marker per 2-pixel cell
        s += "<g fill=\"" + color + "\" fill-opacity=\"0.75\" stroke=\"#7a0c0c\" stroke-width=\"0.6\">";
        for (const auto& [x, y] : se.points) {
          double X = px(x), Y = py(y);
          if (!seen.insert({std::lround(X / 2), std::lround(Y / 2)}).second) continue;
          s += "<circle cx=\"" + num(X) + "\" cy=\"" + num(Y) + "\" r=\"3\"/>";
        }
        s += "</g>\n";
        break;
      }
      case Series::Kind::bars: {
        s += "<g fill=\"" + color + "\">";
        for (const auto& [x, y] : se.points) {
          double X0 = px(x), X1 = px(x + se.bar_width);
          double w = std::max(1.0, X1 - X0 - 0.6);
          double Y = py(y), B = py(std::max(0.0, y0_));
          s += "<rect x=\"" + num(X0) + "\" y=\"" + num(std::min(Y, B)) + "\" width=\"" + num(w) +
               "\" height=\"" + num(std::fabs(B - Y)) + "\"/>";
        }
        s += "</g>\n";
        break;
      }
      case Series::Kind::stems: {
        std::map<long, double> tallest;  // pixel column → highest value
        for (const auto& [x, y] : se.points) {
          long col = std::lround(px(x));
          auto it = tallest.find(col);
          if (it == tallest.end() || y > it->second) tallest[col] = y;
        }
        s += "<g stroke=\"" + color + "\" fill=\"" + color + "\">";
        double B = py(std::max(0.0, y0_));
        for (const auto& [col, y] : tallest) {
          double X = static_cast<double>(col), Y = py(y);
          s += "<line x1=\"" + num(X) + "\" y1=\"" + num(B) + "\" x2=\"" + num(X) + "\" y2=\"" + num(Y) +
               "\" stroke-width=\"1.4\"/><circle cx=\"" + num(X) + "\" cy=\"" + num(Y) + "\" r=\"2.6\"/>";
        }
        s += "</g>\n";
        break;
      }
    }
  }

  void legend(std::string& s) {
    std::vector<const Series*> items;
    for (const Series& se : c_.series)
      if (se.in_legend && !se.name.empty()) items.push_back(&se);
    if (items.empty()) return;
    double x = right();
    std::string g;
    // Right-aligned row above the plot area.
    for (std::size_t i = items.size(); i-- > 0;) {
      const Series& se = *items[i];
      double w = 22 + 7.0 * static_cast<double>(se.name.size());
      x -= w;
      std::string sym;
      if (se.kind == Series::Kind::markers)
        sym = "<circle cx=\"" + num(x + 6) + "\" cy=\"27\" r=\"4\" fill=\"" + se.color + "\"/>";
      else if (se.kind == Series::Kind::bars || se.kind == Series::Kind::band)
        sym = "<rect x=\"" + num(x) + "\" y=\"22\" width=\"12\" height=\"10\" fill=\"" + se.color + "\"" +
              (se.kind == Series::Kind::band ? " fill-opacity=\"0.3\"" : "") + "/>";
      else
        sym = "<line x1=\"" + num(x) + "\" y1=\"27\" x2=\"" + num(x + 12) + "\" y2=\"27\" stroke=\"" +
              se.color + "\" stroke-width=\"2.5\"/>";
      g += sym + "<text class=\"legend\" x=\"" + num(x + 16) + "\" y=\"31\">" + esc(se.name) + "</text>";
    }
    s += "<g class=\"legendbox\">" + g + "</g>\n";
  }
};

// ---------------------------------------------------------------- database access

class Db {
 public:
  ~Db() { sqlite3_close(db_); }
  Status open(const std::string& path) {
    path_ = path;
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
      return fail("cannot open");
    sqlite3_busy_timeout(db_, 5000);
    int version = 0;
    bool ok = query("SELECT version FROM schema_version", {},
                    [&](sqlite3_stmt* st) { version = sqlite3_column_int(st, 0); });
    if (!ok) return fail("not a liqsim results database");
    // Version 1 lacks only accounts.isolated_equity, which the report does not read.
    if (version != kResultsSchemaVersion && version != 1)
      return io("schema_version " + std::to_string(version) + " is not the version this liqsim reads (" +
                std::to_string(kResultsSchemaVersion) + ")");
    return {};
  }
  template <class F>
  bool query(const char* sql, std::vector<std::int64_t> args, F&& row) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      last_error_ = sqlite3_errmsg(db_);
      return false;
    }
    for (std::size_t i = 0; i < args.size(); ++i) sqlite3_bind_int64(st, static_cast<int>(i + 1), args[i]);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) row(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
      last_error_ = sqlite3_errmsg(db_);
      return false;
    }
    return true;
  }
  Status fail(const std::string& what) const {
    return io(what + (db_ ? ": " + std::string(sqlite3_errmsg(db_)) : std::string()));
  }
  Status io(std::string message) const {
    Error e = make_error(ErrorKind::io, std::move(message));
    e.file = path_;
    return e;
  }
  const std::string& last_error() const { return last_error_; }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
  std::string last_error_;
};

std::string col_text(sqlite3_stmt* st, int i) {
  const unsigned char* t = sqlite3_column_text(st, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}
double col_real(sqlite3_stmt* st, int i) { return sqlite3_column_double(st, i); }
std::int64_t col_int(sqlite3_stmt* st, int i) { return sqlite3_column_int64(st, i); }

// Values read back from a database are input like any other: a hand-edited or
// foreign database may hold anything a column's type allows. The first value
// out of its range is kept here, naming table and column, and the report
// refuses the database (exit 2) instead of drawing nonsense or overflowing.
class Checked {
 public:
  explicit Checked(std::string db_path) : db_path_(std::move(db_path)) {}
  std::int64_t ts(sqlite3_stmt* st, int i, const char* where) {
    return in_range(st, i, where, 0, limits::kMaxTimestampMs, "milliseconds since the epoch");
  }
  std::int64_t in_range(sqlite3_stmt* st, int i, const char* where, std::int64_t lo, std::int64_t hi,
                        const char* what) {
    if (sqlite3_column_type(st, i) != SQLITE_INTEGER) {
      fail(where, std::string("expected an integer (") + what + ")");
      return lo;
    }
    std::int64_t v = col_int(st, i);
    if (v < lo || v > hi) {
      fail(where, std::to_string(v) + " is outside " + std::to_string(lo) + ".." + std::to_string(hi) + " (" +
                      what + ")");
      return lo;
    }
    return v;
  }
  double real(sqlite3_stmt* st, int i, const char* where) {
    double v = col_real(st, i);
    if (!std::isfinite(v)) {
      fail(where, "not a finite number");
      return 0;
    }
    return v;
  }
  void fail(const char* where, const std::string& what) {
    if (error_) return;
    Error e = make_error(ErrorKind::input, "not a valid liqsim results database: " + what, where);
    e.file = db_path_;
    error_ = std::move(e);
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  std::string db_path_;
  std::optional<Error> error_;
};

struct RunRow {
  std::int64_t id = 0;
  std::string label, events_path, events_sha256, engine_version, state_hash;
  std::int64_t first_ts = 0, last_ts = 0, interval_ms = 60000;
  std::vector<std::pair<std::string, std::string>> fields;  // summary, in contract order
};

const char* const kRunColumns[] = {
    "events",           "rejected", "margin_calls",       "liquidations",        "liquidated_notional",
    "liquidation_fees", "bad_debt", "insurance_fund",     "adl_events",          "socialized_loss",
    "bankruptcies",     "accounts", "cascade_rounds_max", "impact_liquidations", "adl_amount",
    "insurance_paid"};

std::string unquote(const std::string& v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// ---------------------------------------------------------------- page

const char* const kCss = R"css(
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;background:#eef1f5;color:#1d2733}
header{background:#13243a;color:#fff;padding:22px 36px}
header h1{margin:0 0 6px;font-size:24px;font-weight:600}
header .meta{font-size:12.5px;color:#b8c6d8;line-height:1.6}
header code{color:#e4ecf6}
main{padding:18px 36px 40px;max-width:1300px}
section{background:#fff;border:1px solid #d5dce5;border-radius:6px;padding:14px 20px 18px;margin:16px 0;box-shadow:0 1px 2px rgba(0,0,0,.04)}
h2{font-size:17px;margin:4px 0 10px;color:#13243a}
p.note{font-size:12.5px;color:#5a6878;margin:4px 0 10px}
figure.chart{margin:6px 0 14px}
svg text{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif}
svg .ctitle{font-size:15px;font-weight:600;fill:#13243a}
svg .tick{font-size:11px;fill:#4a5766}
svg .alabel{font-size:12px;fill:#333f4d}
svg .legend{font-size:12px;fill:#333f4d}
svg .empty{font-size:14px;fill:#8a96a3}
svg .grid{stroke:#e3e8ef;stroke-width:1}
svg .axis{stroke:#6b7785;stroke-width:1}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{border-bottom:1px solid #e3e8ef;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f6fa;color:#13243a;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-family:"DejaVu Sans Mono",monospace}
tr:hover td{background:#f8fafc}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
)css";

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& numeric, const std::string& cls) {
  std::string s = "<table class=\"" + cls + "\"><thead><tr>";
  for (const auto& h : head) s += "<th>" + esc(h) + "</th>";
  s += "</tr></thead><tbody>\n";
  for (const auto& r : rows) {
    s += "<tr>";
    for (std::size_t i = 0; i < r.size(); ++i)
      s +=
          std::string(i < numeric.size() && numeric[i] ? "<td class=\"num\">" : "<td>") + esc(r[i]) + "</td>";
    s += "</tr>\n";
  }
  return s + "</tbody></table>\n";
}

}  // namespace

Result<std::string> render_report(const std::string& db_path, const ReportOptions& options) {
  Db db;
  if (Status st = db.open(db_path); !st.ok()) return st.error();
  auto query_failed = [&](const char* what) -> Error {
    return db.io(std::string("cannot read ") + what + ": " + db.last_error()).error();
  };
  Checked check(db_path);

  // Runs.
  std::vector<RunRow> runs;
  std::string sql =
      "SELECT id, label, events_path, events_sha256, engine_version, state_hash, first_ts, last_ts, "
      "series_interval_ms";
  for (const char* c : kRunColumns) sql += std::string(", ") + c;
  sql += " FROM runs WHERE complete = 1 ORDER BY id";
  if (!db.query(sql.c_str(), {}, [&](sqlite3_stmt* st) {
        RunRow r;
        r.id = col_int(st, 0);
        r.label = col_text(st, 1);
        r.events_path = col_text(st, 2);
        r.events_sha256 = col_text(st, 3);
        r.engine_version = col_text(st, 4);
        r.state_hash = col_text(st, 5);
        r.first_ts = check.ts(st, 6, "runs.first_ts");
        r.last_ts = check.ts(st, 7, "runs.last_ts");
        if (r.first_ts > r.last_ts)
          check.fail("runs.last_ts", "run " + std::to_string(r.id) + " ends before it begins");
        r.interval_ms =
            check.in_range(st, 8, "runs.series_interval_ms", 1, limits::kMaxTimestampMs, "milliseconds");
        for (std::size_t i = 0; i < sizeof kRunColumns / sizeof kRunColumns[0]; ++i)
          r.fields.emplace_back(kRunColumns[i], col_text(st, static_cast<int>(9 + i)));
        r.fields.emplace_back("state_hash", r.state_hash);
        runs.push_back(std::move(r));
      }))
    return query_failed("runs");
  if (check.error()) return *check.error();
  if (runs.empty()) return db.io("the database holds no complete run").error();
  const RunRow* run = &runs.back();
  if (options.run_id != 0) {
    auto it = std::find_if(runs.begin(), runs.end(), [&](const RunRow& r) { return r.id == options.run_id; });
    if (it == runs.end()) {
      Error e = db.io("no complete run with id " + std::to_string(options.run_id)).error();
      e.kind = ErrorKind::usage;
      e.field = "--run";
      return e;
    }
    run = &*it;
  }
  const std::int64_t rid = run->id;

  // Metrics per run (key order as written).
  std::map<std::int64_t, std::vector<std::pair<std::string, std::string>>> metrics;
  if (!db.query("SELECT run_id, key, value FROM metrics ORDER BY run_id, n", {}, [&](sqlite3_stmt* st) {
        metrics[col_int(st, 0)].emplace_back(col_text(st, 1), col_text(st, 2));
      }))
    return query_failed("metrics");

  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>liqsim report — " + esc(run->label) + " (run " + std::to_string(rid) + ")</title>\n";
  html += "<style>" + std::string(kCss) + "</style>\n</head>\n<body>\n";
  html += "<header><h1>Liquidation replay: " + esc(run->label) + "</h1><div class=\"meta\">";
  html += "Run " + std::to_string(rid) + " · " + esc(run->engine_version) + " · events <code>" +
          esc(run->events_path) + "</code> (sha256 <code>" + esc(run->events_sha256.substr(0, 16)) +
          "…</code>)<br>";
  html += "Event time " + esc(format_rfc3339(run->first_ts)) + " → " + esc(format_rfc3339(run->last_ts)) +
          " · state hash <code>" + esc(run->state_hash.substr(0, 16)) + "…</code>";
  if (runs.size() > 1) html += " · " + std::to_string(runs.size()) + " runs in this database";
  html += "</div></header>\n<main>\n";

  // Summary and metrics.
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : run->fields) rows.push_back({k, v});
    std::vector<std::vector<std::string>> mrows;
    for (const auto& [k, v] : metrics[rid]) mrows.push_back({k, unquote(v)});
    html += "<section id=\"summary\"><h2>Summary and metrics</h2>\n<div class=\"grid2\"><div>";
    html += table({"summary", "value"}, rows, {false, true}, "summary");
    html += "</div><div>";
    html += table({"metric", "value"}, mrows, {false, true}, "metrics");
    html +=
        "</div></div>\n<p class=\"note\">Money is in USD. Metric definitions: "
        "docs/RESULTS.md.</p></section>\n";
  }

  // Mark price per market with liquidation markers.
  struct SeriesRow {
    double t, close, low, high, liquidated;
  };
  std::map<std::string, std::vector<SeriesRow>> series;
  if (!db.query(
          "SELECT market, interval_start_ms, mark_close_f, mark_min_f, mark_max_f, liquidated_notional_f "
          "FROM market_series WHERE run_id = ? ORDER BY market, interval_start_ms",
          {rid}, [&](sqlite3_stmt* st) {
            series[col_text(st, 0)].push_back(
                {static_cast<double>(check.ts(st, 1, "market_series.interval_start_ms")),
                 check.real(st, 2, "market_series.mark_close_f"),
                 check.real(st, 3, "market_series.mark_min_f"), check.real(st, 4, "market_series.mark_max_f"),
                 check.real(st, 5, "market_series.liquidated_notional_f")});
          }))
    return query_failed("market_series");
  std::map<std::string, std::vector<std::pair<double, double>>> fills;
  if (!db.query("SELECT market, ts, price_f FROM events WHERE run_id = ? AND type = 'liquidation' ORDER BY n",
                {rid}, [&](sqlite3_stmt* st) {
                  fills[col_text(st, 0)].emplace_back(static_cast<double>(check.ts(st, 1, "events.ts")),
                                                      check.real(st, 2, "events.price_f"));
                }))
    return query_failed("liquidations");
  if (check.error()) return *check.error();
  html +=
      "<section id=\"marks\"><h2>Mark price per market</h2>\n<p class=\"note\">Line: mark at the close of "
      "each " +
      std::to_string(run->interval_ms / 1000) +
      " s interval of event time (UTC); band: lowest to highest mark in the interval, including the "
      "liquidations' own price impact; dots: liquidation fills at their execution price.</p>\n";
  if (series.empty()) html += "<p class=\"note\">No market was priced in this run.</p>\n";
  std::size_t mi = 0;
  for (const auto& [market, rows] : series) {
    Chart c;
    c.id = "mark-" + std::to_string(mi);
    c.fixed_x = true;
    c.x_min = static_cast<double>(run->first_ts);
    c.x_max = static_cast<double>(run->last_ts);
    c.title = "Mark price — " + market;
    c.x_label = "event time (UTC)";
    c.y_label = "price (USD)";
    Series band, line, dots;
    band.kind = Series::Kind::band;
    band.name = "interval low–high";
    band.color = color_of(mi);
    line.kind = Series::Kind::line;
    line.name = "mark (close)";
    line.color = color_of(mi);
    for (const SeriesRow& r : rows) {
      band.points.emplace_back(r.t, r.low);
      band.high.push_back(r.high);
      line.points.emplace_back(r.t, r.close);
    }
    dots.kind = Series::Kind::markers;
    dots.name = "liquidation";
    dots.color = "#d62728";
    dots.points = fills[market];
    c.series = {band, line, dots};
    html += Plot(c).render();
    ++mi;
  }
  html += "</section>\n";

  // Liquidated notional per interval, stacked by market.
  {
    Chart c;
    c.id = "liquidated-notional";
    c.fixed_x = true;
    c.x_min = static_cast<double>(run->first_ts);
    c.x_max = static_cast<double>(run->last_ts);
    c.title =
        "Liquidated notional per " +
        (run->interval_ms == 60000 ? std::string("minute") : std::to_string(run->interval_ms / 1000) + " s");
    c.x_label = "event time (UTC)";
    c.y_label = "notional (USD)";
    c.y_from_zero = true;
    std::map<std::int64_t, double> stacked;
    std::size_t k = 0;
    std::vector<Series> layers;
    for (const auto& [market, rows] : series) {
      Series b;
      b.kind = Series::Kind::bars;
      b.name = market;
      b.color = color_of(k++);
      b.bar_width = static_cast<double>(run->interval_ms);
      for (const SeriesRow& r : rows) {
        if (r.liquidated <= 0) continue;
        double& base = stacked[static_cast<std::int64_t>(r.t)];
        base += r.liquidated;
        b.points.emplace_back(r.t, base);
      }
      layers.push_back(std::move(b));
    }
    // Layers hold cumulative heights: draw the tallest first so lower layers stay visible.
    std::reverse(layers.begin(), layers.end());
    c.series = std::move(layers);
    html += "<section id=\"notional\"><h2>Liquidated notional</h2>\n" + Plot(c).render() + "</section>\n";
  }

  // Insurance fund.
  std::map<std::int64_t, std::vector<std::pair<double, double>>> fund;  // run → (ts, balance)
  if (!db.query("SELECT run_id, ts, amount_f, balance_f FROM insurance_fund ORDER BY run_id, n", {},
                [&](sqlite3_stmt* st) {
                  auto& v = fund[col_int(st, 0)];
                  double ts = static_cast<double>(check.ts(st, 1, "insurance_fund.ts"));
                  double amount = check.real(st, 2, "insurance_fund.amount_f");
                  double balance = check.real(st, 3, "insurance_fund.balance_f");
                  if (v.empty()) v.emplace_back(ts, balance - amount);  // balance before
                  v.emplace_back(ts, balance);
                }))
    return query_failed("insurance_fund");
  if (check.error()) return *check.error();
  {
    Chart c;
    c.id = "insurance-fund";
    c.fixed_x = true;
    c.x_min = static_cast<double>(run->first_ts);
    c.x_max = static_cast<double>(run->last_ts);
    c.title = "Insurance fund balance";
    c.x_label = "event time (UTC)";
    c.y_label = "balance (USD)";
    Series s;
    s.kind = Series::Kind::step;
    s.name = "fund balance";
    s.color = "#2ca02c";
    s.points = fund[rid];
    c.series = {s};
    html +=
        "<section id=\"insurance\"><h2>Insurance fund</h2>\n<p class=\"note\">Every change: liquidation fees "
        "in, "
        "deficits of bankrupt accounts out.</p>\n" +
        Plot(c).render() + "</section>\n";
  }

  // Cascade rounds per event.
  {
    Chart c;
    c.id = "cascade-rounds";
    c.fixed_x = true;
    c.x_min = static_cast<double>(run->first_ts);
    c.x_max = static_cast<double>(run->last_ts);
    c.title = "Cascade rounds per event";
    c.x_label = "event time (UTC)";
    c.y_label = "liquidation rounds";
    c.y_from_zero = true;
    Series s;
    s.kind = Series::Kind::stems;
    s.name = "rounds in one input event";
    s.color = "#9467bd";
    if (!db.query("SELECT ts, MAX(rounds) FROM cascades WHERE run_id = ? GROUP BY seq ORDER BY seq", {rid},
                  [&](sqlite3_stmt* st) {
                    s.points.emplace_back(static_cast<double>(check.ts(st, 0, "cascades.ts")),
                                          static_cast<double>(check.in_range(st, 1, "cascades.rounds", 0,
                                                                             INT32_MAX, "rounds")));
                  }))
      return query_failed("cascades");
    if (check.error()) return *check.error();
    c.series = {s};
    html +=
        "<section id=\"cascades\"><h2>Cascades</h2>\n<p class=\"note\">Round 1 is caused by the input event "
        "itself; each further round by the price impact of the previous round's liquidations (or "
        "ADL).</p>\n" +
        Plot(c).render() + "</section>\n";
  }

  // Largest liquidations.
  {
    std::vector<std::vector<std::string>> rows;
    if (!db.query("SELECT seq, ts, account, market, side, qty, price, mark, notional, fee, round FROM events "
                  "WHERE run_id = ? AND type = 'liquidation' ORDER BY notional_f DESC, n LIMIT 20",
                  {rid}, [&](sqlite3_stmt* st) {
                    rows.push_back(
                        {std::to_string(col_int(st, 0)), format_rfc3339(check.ts(st, 1, "events.ts")),
                         col_text(st, 2), col_text(st, 3), col_text(st, 4), col_text(st, 5), col_text(st, 6),
                         col_text(st, 7), col_text(st, 8), col_text(st, 9), std::to_string(col_int(st, 10))});
                  }))
      return query_failed("liquidations");
    if (check.error()) return *check.error();
    html += "<section id=\"largest\"><h2>20 largest liquidations</h2>\n";
    if (rows.empty())
      html += "<p class=\"note\">No liquidation in this run.</p>\n";
    else
      html += table({"seq", "time (UTC)", "account", "market", "side", "qty", "price", "mark before",
                     "notional", "fee", "round"},
                    rows, {true, false, false, false, false, true, true, true, true, true, true}, "largest");
    html += "</section>\n";
  }

  // Several runs: comparison.
  if (runs.size() > 1) {
    std::vector<std::string> head{"field"};
    for (const RunRow& r : runs) head.push_back("run " + std::to_string(r.id) + ": " + r.label);
    std::vector<std::string> keys;
    for (const auto& [k, v] : runs.front().fields) keys.push_back(k);
    std::vector<std::string> mkeys;
    for (const RunRow& r : runs)
      for (const auto& [k, v] : metrics[r.id])
        if (std::find(mkeys.begin(), mkeys.end(), k) == mkeys.end()) mkeys.push_back(k);
    std::vector<std::vector<std::string>> rows;
    auto value_of = [](const std::vector<std::pair<std::string, std::string>>& f, const std::string& k) {
      for (const auto& [kk, v] : f)
        if (kk == k) return unquote(v);
      return std::string("—");
    };
    for (const auto& k : keys) {
      std::vector<std::string> row{k};
      for (const RunRow& r : runs) {
        std::string v = value_of(r.fields, k);
        row.push_back(k == "state_hash" ? v.substr(0, 16) : v);
      }
      rows.push_back(std::move(row));
    }
    for (const auto& k : mkeys) {
      std::vector<std::string> row{k};
      for (const RunRow& r : runs) row.push_back(value_of(metrics[r.id], k));
      rows.push_back(std::move(row));
    }
    std::vector<bool> numeric(head.size(), true);
    numeric[0] = false;
    html += "<section id=\"comparison\"><h2>Comparison of runs</h2>\n";
    html += table(head, rows, numeric, "comparison");
    Chart c;
    c.id = "fund-overlay";
    c.title = "Insurance fund balance, all runs";
    c.x_label = "minutes since the run's first event";
    c.y_label = "balance (USD)";
    c.x_is_time = false;
    c.x_is_minutes = true;
    std::size_t k = 0;
    for (const RunRow& r : runs) {
      Series s;
      s.kind = Series::Kind::step;
      s.name = "run " + std::to_string(r.id) + ": " + r.label;
      s.color = color_of(k++);
      for (const auto& [t, b] : fund[r.id])
        s.points.emplace_back((t - static_cast<double>(r.first_ts)) / 60000.0, b);
      c.series.push_back(std::move(s));
    }
    html += Plot(c).render() + "</section>\n";
  }

  html +=
      "</main>\n<footer style=\"padding:0 36px 30px;font-size:11.5px;color:#6b7785\">Generated by liqsim "
      "report from " +
      esc(db_path) + ". Self-contained: no scripts, no network.</footer>\n";
  html += "</body>\n</html>\n";
  return html;
}

Status write_report(const std::string& db_path, const std::string& html_path, const ReportOptions& options) {
  auto html = render_report(db_path, options);
  if (!html) return html.error();
  auto out = OutputFile::create(html_path);
  if (!out) return out.error();
  if (Status st = out->write(*html); !st) return st;
  return out->commit();
}

}  // namespace liqsim
