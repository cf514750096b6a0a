// report.cpp — `liqsim report`: a self-contained HTML page from a results database.
//
// Reads the database (read-only) and writes one HTML file whose charts are
// inline SVG drawn here: no script, no network, no external font. The page is
// a pure function of the database contents, so the same database gives the
// same bytes.
//
// Many runs scale by rows, not columns: a sweep (sweeps, sweep_points) is a
// table of one row per point, and runs outside a sweep one row per run, in a
// scrolling box with a sticky header. Sorting is CSS only (SortTable): the
// rows are in the page once, each carrying its rank in every column, and a
// checked radio button sets the cells' `order` in the grid the table is laid
// out as. Money in the tables is the exact TEXT of the database (differences
// computed in fixed point); doubles only place and colour the charts.
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include "liqsim/config.hpp"
#include "liqsim/fixed.hpp"
#include "liqsim/json.hpp"
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
  std::vector<std::string> x_categories;  // non-empty: x is the index of a category, ticks are its names
  bool pad_x = false;                     // a margin on both sides of the x range (markers at the ends)
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
    layout_legend();
    const std::string height = std::to_string(c_.height + legend_extra_);
    std::string s;
    s += "<figure class=\"chart\" id=\"" + esc(c_.id) + "\">\n";
    s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(c_.width) + "\" height=\"" +
         height + "\" viewBox=\"0 0 " + std::to_string(c_.width) + " " + height +
         "\" role=\"img\" aria-label=\"" + esc(c_.title) + "\">\n";
    s += "<title>" + esc(c_.title) + "</title>\n";
    s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(c_.width) + "\" height=\"" + height +
         "\" fill=\"#ffffff\"/>\n";
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
  // The legend: one row above the plot, right-aligned, when it fits beside
  // the title; otherwise rows below the x axis label, wrapped to the width
  // (the picture grows by legend_extra_), so no entry is ever cut off.
  struct LegendItem {
    const Series* series;
    double x, y;       // the symbol's left edge and the text's baseline
    std::string name;  // the series' name, cut to the width of the chart
  };
  std::vector<LegendItem> legend_items_;
  int legend_extra_ = 0;

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
    if (!c_.x_categories.empty()) {
      xl = -0.5;
      xh = static_cast<double>(c_.x_categories.size()) - 0.5;
    } else if (!has_data_) {
      xl = 0;
      xh = c_.x_is_time ? 3.6e6 : 1;
      yl = 0;
      yh = 1;
    }
    if (c_.fixed_x && c_.x_max > c_.x_min && c_.x_categories.empty()) {
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
    if (c_.pad_x && c_.x_categories.empty()) {
      const double pad = (xh - xl) * 0.04;
      xl -= pad;
      xh += pad;
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
    if (!c_.x_categories.empty()) {
      // One tick per category, or every k-th when their names would overlap.
      std::size_t longest = 1;
      for (const std::string& n : c_.x_categories) longest = std::max(longest, n.size());
      const double room = (right() - left_) / static_cast<double>(c_.x_categories.size());
      const auto every = static_cast<std::size_t>(std::ceil(7.0 * static_cast<double>(longest) / room));
      xt.clear();
      for (std::size_t i = 0; i < c_.x_categories.size(); i += std::max<std::size_t>(every, 1))
        xt.push_back(static_cast<double>(i));
    }
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
      std::string label = !c_.x_categories.empty() ? c_.x_categories[static_cast<std::size_t>(std::lround(v))]
                          : c_.x_is_time ? time_label(static_cast<std::int64_t>(v), with_date, with_seconds)
                                         : human(v);
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

  static double legend_width(const std::string& name) { return 22 + 7.0 * static_cast<double>(name.size()); }

  void layout_legend() {
    std::vector<const Series*> items;
    for (const Series& se : c_.series)
      if (se.in_legend && !se.name.empty()) items.push_back(&se);
    if (items.empty()) return;
    double total = 0;
    for (const Series* se : items) total += legend_width(se->name);
    // The title's width, estimated as the CSS font's (15 px, ~8.2 px a character).
    const double title_end = left_ + 8.2 * static_cast<double>(c_.title.size()) + 16;
    if (right() - total >= title_end) {
      double x = right();
      for (std::size_t i = items.size(); i-- > 0;) {
        x -= legend_width(items[i]->name);
        legend_items_.push_back({items[i], x, 31, items[i]->name});
      }
      return;
    }
    const double row_height = 18;
    double x = left_, y = c_.height + 12.0;
    int rows = 1;
    const auto fit = static_cast<std::size_t>(std::max(4.0, (right() - left_ - 22) / 7.0));
    for (const Series* se : items) {
      std::string name = se->name;
      if (name.size() > fit) name = name.substr(0, fit - 3) + "...";
      const double w = legend_width(name);
      if (x > left_ && x + w > right()) {
        x = left_;
        y += row_height;
        ++rows;
      }
      legend_items_.push_back({se, x, y, name});
      x += w;
    }
    legend_extra_ = static_cast<int>(rows * row_height) + 14;
  }

  void legend(std::string& s) {
    if (legend_items_.empty()) return;
    std::string g;
    for (const LegendItem& item : legend_items_) {
      const Series& se = *item.series;
      const double x = item.x, y = item.y;
      std::string sym;
      if (se.kind == Series::Kind::markers)
        sym =
            "<circle cx=\"" + num(x + 6) + "\" cy=\"" + num(y - 4) + "\" r=\"4\" fill=\"" + se.color + "\"/>";
      else if (se.kind == Series::Kind::bars || se.kind == Series::Kind::band)
        sym = "<rect x=\"" + num(x) + "\" y=\"" + num(y - 9) + "\" width=\"12\" height=\"10\" fill=\"" +
              se.color + "\"" + (se.kind == Series::Kind::band ? " fill-opacity=\"0.3\"" : "") + "/>";
      else
        sym = "<line x1=\"" + num(x) + "\" y1=\"" + num(y - 4) + "\" x2=\"" + num(x + 12) + "\" y2=\"" +
              num(y - 4) + "\" stroke=\"" + se.color + "\" stroke-width=\"2.5\"/>";
      g += sym + "<text class=\"legend\" x=\"" + num(x + 16) + "\" y=\"" + num(y) + "\">" + esc(item.name) +
           "</text>";
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
  std::string label, events_path, events_sha256, engine_version, state_hash, config_json;
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
h3{font-size:14.5px;margin:16px 0 6px;color:#13243a}
.muted{color:#8a96a3}
.tw{overflow-x:auto}
.tw td{white-space:nowrap}
)css";

// Sortable scrolling tables, tags and the heatmap's metric tabs.
const char* const kSweepCss = R"css(
.sr{position:absolute;opacity:0;width:1px;height:1px;pointer-events:none}
.sc{max-height:560px;overflow:auto;border:1px solid #d5dce5;border-radius:4px}
table.st{display:grid;width:max-content;min-width:100%}
table.st thead,table.st tbody,table.st tr{display:contents}
table.st th{position:sticky;top:0;z-index:2;order:-1000000000;border-bottom:2px solid #c9d1dc}
.hd{display:inline-block;max-width:190px;overflow-wrap:anywhere;vertical-align:bottom}
table.st td{background:#fff;white-space:nowrap}
table.st th:first-child{left:0;z-index:3}
table.st td:first-child{position:sticky;left:0;z-index:1;background:#f8fafc;font-weight:600}
table.st th.num{text-align:right}
table.st tr:hover td{background:#eef4fb}
.sl{margin-left:4px;white-space:nowrap}
.sl label{cursor:pointer;color:#8a96a3;padding:0 2px;border-radius:3px;font-size:10px}
.sl label:hover{color:#13243a}
.d{display:block;font-size:11px;color:#5a6878}
.d.z{color:#a7b1bc}
.tag{display:inline-block;font-size:11px;padding:1px 6px;border-radius:8px;margin-right:4px}
.tag.base{background:#e3ecf7;color:#13243a}
.tag.rerun{background:#fdecc8;color:#7a4b00;font-weight:600}
td code{font-size:11.5px}
.tabs{font-size:12.5px;margin:2px 0 6px;color:#5a6878}
.tabs label{display:inline-block;cursor:pointer;border:1px solid #c9d1dc;border-radius:4px;padding:2px 8px;margin:2px 3px;color:#13243a;background:#f3f6fa}
.hmv{display:none}
figure.heatmap svg{max-width:100%;height:auto}
svg .hv{font-size:11px}
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

// ---------------------------------------------------------------- exact values and deltas

// A summary value (an integer count or a canonical decimal) as raw 1e-8
// units, or nothing when it is not a number (null, a hash, empty).
std::optional<__int128> raw_value(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto raw = parse_decimal_raw(text);
  if (raw) return *raw;
  // A count too large for the fixed-point range is still an exact integer.
  if (text.size() <= 18 && text.find_first_not_of("-0123456789") == std::string::npos &&
      text.find('-', 1) == std::string::npos && text != "-")
    return static_cast<__int128>(std::stoll(text)) * kScale;
  return std::nullopt;
}

double as_double(const std::string& text) {
  auto raw = raw_value(text);
  return raw ? static_cast<double>(static_cast<long double>(*raw) / kScale) : 0.0;
}

// `value − base`, exact, and the change in percent of |base| (empty when base is 0).
struct Delta {
  bool defined = false;
  bool zero = false;
  std::string abs, pct;
};
Delta delta_of(const std::string& value, const std::string& base) {
  Delta d;
  auto v = raw_value(value), b = raw_value(base);
  if (!v || !b) return d;
  const __int128 diff = *v - *b;
  d.defined = true;
  d.zero = diff == 0;
  d.abs = (diff > 0 ? "+" : "") + format_decimal_wide(diff);
  if (*b != 0) {
    const long double pct =
        static_cast<long double>(diff) / static_cast<long double>(*b < 0 ? -*b : *b) * 100;
    d.pct = (pct > 0 ? "+" : "") + fmt(static_cast<double>(pct), 2) + "%";
    if (d.pct == "-0.00%" || d.pct == "+0.00%") d.pct = "0.00%";
  }
  return d;
}

// The cell text of a value with its difference from the baseline below it.
std::string with_delta(const std::string& value, const std::string& base, bool is_baseline) {
  std::string s = esc(value);
  if (is_baseline) return s;
  Delta d = delta_of(value, base);
  if (!d.defined) return s;
  if (d.zero) return s + "<span class=\"d z\">±0</span>";
  return s + "<span class=\"d\">" + esc(d.abs) + (d.pct.empty() ? "" : " (" + esc(d.pct) + ")") + "</span>";
}

// ---------------------------------------------------------------- sortable tables

// A value to sort a column by: numbers (exact) before text before nothing.
struct SortKey {
  int kind = 2;  // 0 number, 1 text, 2 missing
  long double number = 0;
  std::string text;
  static SortKey of_number(long double v) { return {0, v, {}}; }
  static SortKey of_text(std::string t) { return {1, 0, std::move(t)}; }
  // A summary value: its exact number when it is one, else its text.
  static SortKey of_value(const std::string& v) {
    if (auto raw = raw_value(v)) return of_number(static_cast<long double>(*raw));
    if (v.empty() || v == "—") return {};
    return of_text(v);
  }
  bool operator<(const SortKey& o) const {
    if (kind != o.kind) return kind < o.kind;
    if (kind == 0) return number < o.number;
    return text < o.text;
  }
};

struct SortTable {
  std::string id;  // unique in the page: the radio group's name and the ids' prefix
  struct Column {
    std::string head;
    bool numeric = false;
    bool sortable = true;
    std::string title;  // the header's tooltip
  };
  std::vector<Column> columns;
  struct Row {
    std::vector<std::string> cells;  // HTML, already escaped
    std::vector<SortKey> keys;       // one per column (ignored where the column is not sortable)
    std::string cls;
  };
  std::vector<Row> rows;
};

// At most this many sortable columns per table (the page's CSS has a rule per column).
constexpr std::size_t kMaxSortColumns = 64;

// The CSS of every sortable table. The rows are in the page once; a column's
// sort is CSS only: the table is a grid whose rows are `display: contents`,
// each row carries its rank in every column as a custom property (--kC), and
// the checked radio button (its labels are the ▲/▼ in the column's header)
// sets every cell's `order` to the rank of its row in that column, negated
// for descending. No script.
std::string sort_css(std::size_t columns) {
  std::string s;
  for (std::size_t c = 0; c < columns; ++c) {
    const std::string k = std::to_string(c);
    s += ".sa" + k + ":checked~.sc td{order:var(--k" + k + ")}.sd" + k +
         ":checked~.sc td{order:calc(-1*var(--k" + k + "))}.sa" + k + ":checked~.sc .la" + k + ",.sd" + k +
         ":checked~.sc .ld" + k + "{color:#fff;background:#13243a}\n";
  }
  return s;
}

// A header's text that may wrap after a '.' (a long configuration path).
std::string breakable(const std::string& text) {
  std::string s;
  for (char c : esc(text)) {
    s += c;
    if (c == '.') s += "<wbr>";
  }
  return s;
}

std::string render_sort_table(const SortTable& t) {
  const std::size_t n = t.columns.size();
  // Ranks: a stable sort of the rows by each sortable column.
  std::vector<std::vector<std::size_t>> rank(n);
  for (std::size_t c = 0; c < n && c < kMaxSortColumns; ++c) {
    if (!t.columns[c].sortable) continue;
    std::vector<std::size_t> order(t.rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return t.rows[a].keys[c] < t.rows[b].keys[c]; });
    rank[c].resize(order.size());
    for (std::size_t r = 0; r < order.size(); ++r) rank[c][order[r]] = r;
  }
  std::string s = "<div class=\"sortable\" id=\"" + esc(t.id) + "\">";
  bool first = true;
  for (std::size_t c = 0; c < n && c < kMaxSortColumns; ++c) {
    if (!t.columns[c].sortable) continue;
    const std::string k = std::to_string(c), base = esc(t.id) + "-" + k;
    s += "<input type=\"radio\" class=\"sr sa" + k + "\" name=\"" + esc(t.id) + "\" id=\"" + base + "a\"" +
         (first ? " checked" : "") + "><input type=\"radio\" class=\"sr sd" + k + "\" name=\"" + esc(t.id) +
         "\" id=\"" + base + "d\">";
    first = false;
  }
  // The last column takes the width the others leave.
  s += "\n<div class=\"sc\"><table class=\"st\" style=\"grid-template-columns:" +
       (n > 1 ? "repeat(" + std::to_string(n - 1) + ",max-content) " : std::string()) +
       "minmax(max-content,1fr)\"><thead><tr>";
  for (std::size_t c = 0; c < n; ++c) {
    const SortTable::Column& col = t.columns[c];
    s += std::string("<th") + (col.numeric ? " class=\"num\"" : "") +
         (col.title.empty() ? "" : " title=\"" + esc(col.title) + "\"") + "><span class=\"hd\">" +
         breakable(col.head) + "</span>";
    if (col.sortable && c < kMaxSortColumns) {
      const std::string k = std::to_string(c), base = esc(t.id) + "-" + k;
      s += "<span class=\"sl\"><label for=\"" + base + "a\" class=\"la" + k +
           "\" title=\"sort ascending\">▲</label>" + "<label for=\"" + base + "d\" class=\"ld" + k +
           "\" title=\"sort descending\">▼</label></span>";
    }
    s += "</th>";
  }
  s += "</tr></thead><tbody>\n";
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const SortTable::Row& row = t.rows[r];
    s += "<tr" + (row.cls.empty() ? std::string() : " class=\"" + esc(row.cls) + "\"") + " style=\"";
    for (std::size_t c = 0; c < n && c < kMaxSortColumns; ++c)
      if (!rank[c].empty()) s += "--k" + std::to_string(c) + ":" + std::to_string(rank[c][r]) + ";";
    s += "\">";
    for (std::size_t c = 0; c < n; ++c)
      s += std::string(t.columns[c].numeric ? "<td class=\"num\">" : "<td>") +
           (c < row.cells.size() ? row.cells[c] : std::string()) + "</td>";
    s += "</tr>\n";
  }
  return s + "</tbody></table></div></div>\n";
}

// ---------------------------------------------------------------- heatmap

// Sequential colour ramp (light to dark orange-brown), t in [0, 1].
std::string ramp(double t) {
  static const int stops[][3] = {
      {255, 245, 235}, {253, 208, 162}, {253, 141, 60}, {217, 72, 1}, {127, 39, 4}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  char buf[16];
  int rgb[3];
  for (int k = 0; k < 3; ++k)
    rgb[k] = static_cast<int>(std::lround(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

struct HeatCell {
  bool present = false;
  double value = 0;   // colour
  std::string exact;  // the exact text, in the tooltip
};

// A grid of cells: x = the second axis's values (columns), y = the first
// axis's (rows), each cell coloured by its value and labelled with it, and a
// colour legend on the right inside the picture.
std::string heatmap_svg(const std::string& id, const std::string& title, const std::string& x_label,
                        const std::string& y_label, const std::vector<std::string>& xs,
                        const std::vector<std::string>& ys, const std::vector<HeatCell>& cells) {
  const double char_w = 6.8;
  std::size_t ylong = 1, xlong = 1;
  for (const auto& y : ys) ylong = std::max(ylong, y.size());
  for (const auto& x : xs) xlong = std::max(xlong, x.size());
  const double ylab_w = std::clamp(char_w * static_cast<double>(ylong) + 12, 40.0, 280.0);
  const double left = 34 + ylab_w, top = 44;
  const double nx = static_cast<double>(xs.size()), ny = static_cast<double>(ys.size());
  const double cell_h = ny > 40 ? 16 : ny > 20 ? 22 : ny > 10 ? 30 : 40;
  double lo = INFINITY, hi = -INFINITY;
  for (const HeatCell& c : cells)
    if (c.present) lo = std::min(lo, c.value), hi = std::max(hi, c.value);
  const bool any = lo <= hi;
  if (!any) lo = 0, hi = 1;
  auto t_of = [&](double v) { return hi > lo ? (v - lo) / (hi - lo) : 0.5; };
  const double grid_h = cell_h * ny, legend_h = std::max(grid_h, 120.0);
  // The legend's labels: the lowest and the highest value at the ends, round
  // values between them where they do not crowd the ends.
  std::vector<double> ticks{lo};
  if (hi > lo) {
    for (double v : value_ticks(lo, hi, 5)) {
      const double from_end = std::min(v - lo, hi - v) / (hi - lo) * legend_h;
      if (from_end >= 14) ticks.push_back(v);
    }
    ticks.push_back(hi);
  }
  std::size_t tick_long = 1;
  for (double v : ticks) tick_long = std::max(tick_long, human(v).size());
  // The cells share what the legend leaves of the page's width (the picture
  // is also scaled down to its box by the CSS, so nothing is ever cut off).
  const double legend_w = 28 + 16 + 8 + char_w * static_cast<double>(tick_long) + 16;
  const double cell_w = std::clamp((1240 - left - legend_w) / std::max(nx, 1.0), 30.0, 180.0);
  const double grid_w = cell_w * nx, legend_x = left + grid_w + 28;
  // Wide enough for the legend's labels and the title (15 px, ~8.2 px a character).
  const double width = std::max(legend_x + 16 + 8 + char_w * static_cast<double>(tick_long) + 16,
                                left + 8.2 * static_cast<double>(title.size()) + 16);
  const double height = top + std::max(grid_h, legend_h) + 52;
  auto num = [](double v) { return fmt(v, 1); };
  std::string s = "<figure class=\"chart heatmap\" id=\"" + esc(id) + "\">\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" viewBox=\"0 0 " + num(width) + " " + num(height) + "\" role=\"img\" aria-label=\"" + esc(title) +
       "\">\n";
  s += "<title>" + esc(title) + "</title>\n";
  s += "<defs><linearGradient id=\"grad-" + esc(id) + "\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int k = 0; k <= 4; ++k)
    s += "<stop offset=\"" + fmt(k / 4.0, 2) + "\" stop-color=\"" + ramp(k / 4.0) + "\"/>";
  s += "</linearGradient></defs>\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) +
       "\" fill=\"#ffffff\"/>\n";
  s += "<text class=\"ctitle\" x=\"" + num(left) + "\" y=\"22\">" + esc(title) + "</text>\n";
  for (std::size_t j = 0; j < ys.size(); ++j)
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const HeatCell& c = cells[j * xs.size() + i];
      const double x = left + cell_w * static_cast<double>(i), y = top + cell_h * static_cast<double>(j);
      const double t = t_of(c.value);
      s += "<g><title>" + esc(ys[j]) + " × " + esc(xs[i]) + ": " + (c.present ? esc(c.exact) : "no run") +
           "</title><rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(cell_w - 1) +
           "\" height=\"" + num(cell_h - 1) + "\" fill=\"" + (c.present ? ramp(t) : std::string("#eceff3")) +
           "\"/>";
      const std::string label = c.present ? human(c.value) : "—";
      if (char_w * static_cast<double>(label.size()) < cell_w - 4 && cell_h >= 16)
        s += "<text class=\"hv\" x=\"" + num(x + cell_w / 2) + "\" y=\"" + num(y + cell_h / 2 + 4) +
             "\" text-anchor=\"middle\" fill=\"" + (c.present && t > 0.55 ? "#ffffff" : "#1d2733") + "\">" +
             esc(label) + "</text>";
      s += "</g>\n";
    }
  // Row and column names (a name longer than its cell is cut, whole in the tooltip).
  for (std::size_t j = 0; j < ys.size(); ++j)
    s += "<text class=\"tick\" x=\"" + num(left - 6) + "\" y=\"" +
         num(top + cell_h * static_cast<double>(j) + cell_h / 2 + 4) + "\" text-anchor=\"end\">" +
         esc(ys[j]) + "</text>\n";
  const auto fit = static_cast<std::size_t>(std::max(2.0, (cell_w - 4) / char_w));
  for (std::size_t i = 0; i < xs.size(); ++i) {
    std::string name = xs[i].size() > fit ? xs[i].substr(0, fit - 1) + "…" : xs[i];
    s += "<text class=\"tick\" x=\"" + num(left + cell_w * static_cast<double>(i) + cell_w / 2) + "\" y=\"" +
         num(top + grid_h + 16) + "\" text-anchor=\"middle\"><title>" + esc(xs[i]) + "</title>" + esc(name) +
         "</text>\n";
  }
  s += "<text class=\"alabel\" x=\"" + num(left + grid_w / 2) + "\" y=\"" + num(top + grid_h + 38) +
       "\" text-anchor=\"middle\">" + esc(x_label) + "</text>\n";
  s += "<text class=\"alabel\" transform=\"translate(16 " + num(top + grid_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + esc(y_label) + "</text>\n";
  // The colour legend: the ramp from the lowest value (bottom) to the highest.
  s += "<rect x=\"" + num(legend_x) + "\" y=\"" + num(top) + "\" width=\"16\" height=\"" + num(legend_h) +
       "\" fill=\"url(#grad-" + esc(id) + ")\" stroke=\"#c9d1dc\"/>\n";
  for (double v : ticks) {
    const double y = top + legend_h * (1 - (hi > lo ? t_of(v) : 0.5));
    s += "<line class=\"axis\" x1=\"" + num(legend_x + 16) + "\" y1=\"" + num(y) + "\" x2=\"" +
         num(legend_x + 21) + "\" y2=\"" + num(y) + "\"/><text class=\"tick\" x=\"" + num(legend_x + 24) +
         "\" y=\"" + num(y + 4) + "\">" + esc(human(v)) + "</text>\n";
  }
  return s + "</svg>\n</figure>\n";
}

// ---------------------------------------------------------------- configuration diff

struct ConfigChange {
  std::string path, before, after;
  bool computed = false;  // a value the configuration derives (a tier's maintenance_amount left out)
};

void flatten(const JsonValue& v, const std::string& path,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (v.kind == JsonValue::Kind::object && !v.members.empty()) {
    for (const auto& [k, m] : v.members) flatten(m, path.empty() ? k : path + "." + k, out);
  } else if (v.kind == JsonValue::Kind::array && !v.items.empty()) {
    for (std::size_t i = 0; i < v.items.size(); ++i)
      flatten(v.items[i], path + "[" + std::to_string(i) + "]", out);
  } else {
    out.emplace_back(path, v.dump());
  }
}

// Two leaves are the same value when both are the same decimal ("15.0000"
// and 15) or the same JSON text.
bool same_leaf(const std::string& a, const std::string& b) {
  if (a == b) return true;
  auto ra = raw_value(unquote(a)), rb = raw_value(unquote(b));
  return ra && rb && *ra == *rb;
}

// The changed leaves of `after` against `before` (both configuration JSON
// documents), then the tiers' maintenance_amount the configuration computes
// where it differs and the documents do not say so.
std::vector<ConfigChange> config_changes(const std::string& before_json, const std::string& after_json) {
  std::vector<ConfigChange> out;
  auto before = parse_json(before_json), after = parse_json(after_json);
  if (!before || !after) {
    if (before_json != after_json) out.push_back({"(configuration)", "not JSON", "not JSON"});
    return out;
  }
  std::vector<std::pair<std::string, std::string>> a, b;
  flatten(*before, "", a);
  flatten(*after, "", b);
  std::map<std::string, std::string> old_of(a.begin(), a.end()), new_of(b.begin(), b.end());
  for (const auto& [path, value] : b) {
    auto it = old_of.find(path);
    if (it == old_of.end())
      out.push_back({path, "(not set)", value});
    else if (!same_leaf(it->second, value))
      out.push_back({path, it->second, value});
  }
  for (const auto& [path, value] : a)
    if (!new_of.count(path)) out.push_back({path, value, "(not set)"});
  auto cb = parse_config(*before, "base"), ca = parse_config(*after, "run");
  if (!cb || !ca) return out;
  for (const MarketConfig& m : ca->markets) {
    const int bi = cb->market_index(m.name);
    if (bi < 0) continue;
    const MarketConfig& bm = cb->markets[static_cast<std::size_t>(bi)];
    for (std::size_t i = 0; i < m.tiers.size() && i < bm.tiers.size(); ++i) {
      if (m.tiers[i].maintenance_amount == bm.tiers[i].maintenance_amount) continue;
      const std::string path = "markets." + m.name + ".tiers[" + std::to_string(i) + "].maintenance_amount";
      if (std::any_of(out.begin(), out.end(), [&](const ConfigChange& c) { return c.path == path; }))
        continue;
      out.push_back({path, bm.tiers[i].maintenance_amount.str(), m.tiers[i].maintenance_amount.str(), true});
    }
  }
  return out;
}

// The value at `path` in a configuration document, or "(not set)".
std::string base_leaf(const std::string& json, const std::string& path) {
  auto doc = parse_json(json);
  if (!doc) return "(not set)";
  std::vector<std::pair<std::string, std::string>> leaves;
  flatten(*doc, "", leaves);
  for (const auto& [p, v] : leaves)
    if (p == path) return v;
  return "(not set)";
}

std::string changes_html(const std::vector<ConfigChange>& changes) {
  if (changes.empty()) return "<span class=\"muted\">no change</span>";
  std::string s;
  for (const ConfigChange& c : changes)
    s += "<div><code>" + esc(c.path) + "</code>: " + esc(unquote(c.before)) + " → <b>" +
         esc(unquote(c.after)) + "</b>" + (c.computed ? " <span class=\"muted\">(computed)</span>" : "") +
         "</div>";
  return s;
}

// ---------------------------------------------------------------- sweeps

// The sweep-table metrics: summary fields (runs columns) in this order.
struct MetricColumn {
  const char* field;
  const char* head;
};
const MetricColumn kSweepMetrics[] = {
    {"liquidations", "liquidations"}, {"liquidated_notional", "liquidated notional"},
    {"bad_debt", "bad debt"},         {"insurance_paid", "insurance paid"},
    {"adl_events", "ADL events"},     {"socialized_loss", "socialized loss"},
    {"rejected", "rejected"},         {"insurance_fund", "fund at end"}};
constexpr std::size_t kSweepMetricCount = sizeof kSweepMetrics / sizeof kSweepMetrics[0];
constexpr std::size_t kDefaultHeatMetric = 2;            // bad debt
constexpr std::int64_t kMaxSweepPointsRead = 1'000'000;  // as many as a sweep may have

// The heatmap's tabs: the checked radio shows its metric's picture.
std::string heat_css() {
  std::string s;
  for (std::size_t m = 0; m < kSweepMetricCount; ++m) {
    const std::string k = std::to_string(m);
    s += ".hs" + k + ":checked~.hmv" + k + "{display:block}.hs" + k + ":checked~.tabs .ht" + k +
         "{color:#fff;background:#13243a}\n";
  }
  return s;
}

const std::string& field_of(const RunRow& r, const std::string& key) {
  static const std::string none;
  for (const auto& [k, v] : r.fields)
    if (k == key) return v;
  return none;
}

// One run of a point (a point run twice, e.g. a sweep stored again, has two).
struct SweepEntry {
  std::int64_t point = 0, run_id = 0;
  std::vector<std::string> values;  // per axis: the value as given (JSON text)
  std::vector<std::optional<double>> numbers;
};

// The sweeps rows of one sweep (one sweep_key: its shards, merged, and any
// repeat of it), with their points.
struct SweepGroup {
  std::string label, key, base_config_json;
  std::vector<std::int64_t> sweep_ids;
  std::int64_t points = 0;
  std::optional<std::int64_t> at_seq;
  std::set<std::int64_t> prefix_runs;
  bool zip = false;
  std::vector<std::string> paths;   // per axis
  std::vector<SweepEntry> entries;  // by point, then run id
};

// A value as shown: a JSON string without its quotes, anything else as written.
std::string shown_value(const std::string& json_text) {
  if (json_text.size() >= 2 && json_text.front() == '"') {
    auto v = parse_json(json_text);
    if (v && v->is_string()) return v->text;
  }
  return json_text;
}

// The distinct values of an axis in the order the points first use them
// (the grid's order: the last axis changes fastest).
std::vector<std::string> axis_values(const SweepGroup& g, std::size_t axis) {
  std::vector<std::string> out;
  for (const SweepEntry& e : g.entries)
    if (axis < e.values.size() && std::find(out.begin(), out.end(), e.values[axis]) == out.end())
      out.push_back(e.values[axis]);
  return out;
}

struct ReportContext {
  std::map<std::int64_t, const RunRow*> by_id;
  std::map<std::int64_t, std::int64_t> rerun_of;  // run → the first identical run before it
};

std::string note_of(const ReportContext& cx, std::int64_t run_id, std::int64_t baseline_id) {
  std::string s;
  if (run_id == baseline_id) s += "<span class=\"tag base\">baseline</span>";
  auto it = cx.rerun_of.find(run_id);
  if (it != cx.rerun_of.end())
    s += "<span class=\"tag rerun\">rerun of run " + std::to_string(it->second) + "</span>";
  return s;
}

std::string sweep_section(const SweepGroup& g, std::size_t index, const ReportContext& cx,
                          const RunRow& base) {
  const std::string sid = "sweep" + std::to_string(index + 1);
  const std::size_t axes = g.paths.size();
  // The first run of each point: what the charts show.
  std::vector<const SweepEntry*> firsts;
  for (const SweepEntry& e : g.entries)
    if (firsts.empty() || firsts.back()->point != e.point) firsts.push_back(&e);
  std::size_t distinct_points = firsts.size();

  std::string s =
      "<section id=\"" + sid + "\" class=\"sweep\"><h2>Sweep: " + esc(g.label) + "</h2>\n<p class=\"note\">";
  s += std::to_string(distinct_points) + " of " + std::to_string(g.points) + " points";
  if (g.sweep_ids.size() > 1)
    s += " from " + std::to_string(g.sweep_ids.size()) + " sweeps rows (shards or repeats)";
  s += " · " + std::string(g.zip ? "axes in step (zip)" : "every combination of") + ": ";
  for (std::size_t a = 0; a < axes; ++a) {
    std::vector<std::string> vs = axis_values(g, a);
    s += (a ? "; " : "") + std::string("<code>") + esc(g.paths[a]) + "</code> (" + std::to_string(vs.size()) +
         " values)";
  }
  if (g.at_seq) s += " · overrides as a governance change before event " + std::to_string(*g.at_seq);
  if (!g.prefix_runs.empty()) {
    s += " (prefix run";
    for (std::int64_t r : g.prefix_runs) s += " " + std::to_string(r);
    s += ")";
  }
  s += " · deltas against the baseline, run " + std::to_string(base.id) + " (" + esc(base.label) +
       "). Money is in USD, exact.</p>\n";

  // Charts.
  if (axes == 2 && !g.zip) {
    std::vector<std::string> ys = axis_values(g, 0), xs = axis_values(g, 1);
    std::vector<std::string> ynames, xnames;
    for (const auto& v : ys) ynames.push_back(shown_value(v));
    for (const auto& v : xs) xnames.push_back(shown_value(v));
    s += "<div class=\"heat\">";
    for (std::size_t m = 0; m < kSweepMetricCount; ++m)
      s += "<input type=\"radio\" class=\"sr hs" + std::to_string(m) + "\" name=\"" + sid + "-heat\" id=\"" +
           sid + "-heat" + std::to_string(m) + "\"" + (m == kDefaultHeatMetric ? " checked" : "") + ">";
    s += "<div class=\"tabs\">colour by: ";
    for (std::size_t m = 0; m < kSweepMetricCount; ++m)
      s += "<label class=\"ht" + std::to_string(m) + "\" for=\"" + sid + "-heat" + std::to_string(m) + "\">" +
           esc(kSweepMetrics[m].head) + "</label>";
    s += "</div>\n";
    for (std::size_t m = 0; m < kSweepMetricCount; ++m) {
      std::vector<HeatCell> cells(xs.size() * ys.size());
      for (const SweepEntry* e : firsts) {
        auto j = std::find(ys.begin(), ys.end(), e->values[0]) - ys.begin();
        auto i = std::find(xs.begin(), xs.end(), e->values[1]) - xs.begin();
        auto it = cx.by_id.find(e->run_id);
        if (it == cx.by_id.end()) continue;
        const std::string& v = field_of(*it->second, kSweepMetrics[m].field);
        HeatCell& c = cells[static_cast<std::size_t>(j) * xs.size() + static_cast<std::size_t>(i)];
        c.present = true;
        c.value = as_double(v);
        c.exact = v;
      }
      s += "<div class=\"hmv hmv" + std::to_string(m) + "\">" +
           heatmap_svg(sid + "-heatmap-" + std::to_string(m),
                       std::string(kSweepMetrics[m].head) + " at each point", g.paths[1], g.paths[0], xnames,
                       ynames, cells) +
           "</div>";
    }
    s += "</div>\n";
  } else if (axes == 1 || (g.zip && axes >= 1)) {
    // Metric against the (first) swept value: numeric x when every value is a number.
    bool numeric = true;
    for (const SweepEntry* e : firsts) numeric = numeric && e->numbers[0].has_value();
    std::vector<std::string> cats = axis_values(g, 0);
    std::string x_label = g.paths[0];
    for (std::size_t a = 1; a < axes; ++a) x_label += (a == 1 ? " (in step with " : ", ") + g.paths[a];
    if (axes > 1) x_label += ")";
    s += "<div class=\"grid2\">";
    for (std::size_t m = 0; m < kSweepMetricCount; ++m) {
      Chart c;
      c.id = sid + "-line-" + std::to_string(m);
      c.title = std::string(kSweepMetrics[m].head) + " vs " + g.paths[0];
      c.x_label = x_label;
      c.y_label = kSweepMetrics[m].head;
      c.x_is_time = false;
      c.width = 610;
      c.height = 280;
      c.pad_x = true;
      if (!numeric)
        for (const auto& v : cats) c.x_categories.push_back(shown_value(v));
      Series line, dots;
      line.kind = Series::Kind::line;
      line.color = color_of(m);
      line.in_legend = false;
      dots.kind = Series::Kind::markers;
      dots.color = color_of(m);
      dots.in_legend = false;
      for (const SweepEntry* e : firsts) {
        auto it = cx.by_id.find(e->run_id);
        if (it == cx.by_id.end()) continue;
        double x =
            numeric ? *e->numbers[0]
                    : static_cast<double>(std::find(cats.begin(), cats.end(), e->values[0]) - cats.begin());
        line.points.emplace_back(x, as_double(field_of(*it->second, kSweepMetrics[m].field)));
      }
      std::stable_sort(line.points.begin(), line.points.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      dots.points = line.points;
      c.series = {line, dots};
      s += Plot(c).render();
    }
    s += "</div>\n";
  } else {
    s += "<p class=\"note\">With " + std::to_string(axes) +
         " axes there is no chart (a heatmap needs exactly two axes, line charts one): sort the table.</p>\n";
  }

  // The table: one row per point (and per further run of a point).
  SortTable t;
  t.id = sid + "-table";
  t.columns.push_back({"point", true, true, "the point's index in the sweep"});
  t.columns.push_back({"run", true, true, "runs.id"});
  for (std::size_t a = 0; a < axes; ++a) t.columns.push_back({g.paths[a], true, true, "swept value"});
  for (const MetricColumn& m : kSweepMetrics)
    t.columns.push_back(
        {m.head, true, true, std::string("runs.") + m.field + ", and its difference from the baseline"});
  t.columns.push_back({"state hash", false, true, "runs.state_hash (first 12 hex digits)"});
  t.columns.push_back({"note", false, false, ""});
  for (const SweepEntry& e : g.entries) {
    auto it = cx.by_id.find(e.run_id);
    if (it == cx.by_id.end()) continue;
    const RunRow& r = *it->second;
    SortTable::Row row;
    row.cells.push_back(std::to_string(e.point));
    row.keys.push_back(SortKey::of_number(static_cast<long double>(e.point)));
    row.cells.push_back("<span title=\"" + esc(r.label) + "\">" + std::to_string(r.id) + "</span>");
    row.keys.push_back(SortKey::of_number(static_cast<long double>(r.id)));
    for (std::size_t a = 0; a < axes; ++a) {
      row.cells.push_back(esc(shown_value(e.values[a])));
      row.keys.push_back(e.numbers[a] ? SortKey::of_number(*e.numbers[a]) : SortKey::of_text(e.values[a]));
    }
    for (const MetricColumn& m : kSweepMetrics) {
      const std::string& v = field_of(r, m.field);
      row.cells.push_back(with_delta(v, field_of(base, m.field), r.id == base.id));
      row.keys.push_back(SortKey::of_value(v));
    }
    row.cells.push_back("<code title=\"" + esc(r.state_hash) + "\">" + esc(r.state_hash.substr(0, 12)) +
                        "</code>");
    row.keys.push_back(SortKey::of_text(r.state_hash));
    row.cells.push_back(note_of(cx, r.id, base.id));
    row.keys.emplace_back();
    row.cls = "pt";
    t.rows.push_back(std::move(row));
  }
  s += "<h3>Points</h3><p class=\"note\">One row per point; ▲ ▼ in a column's header sort by it. "
       "Under each value: its difference from the baseline (and in percent of the baseline's, where that is "
       "not "
       "0).</p>\n";
  s += render_sort_table(t);

  // Configuration of each run against the sweep's base.
  SortTable d;
  d.id = sid + "-config";
  d.columns.push_back({"point", true, true, ""});
  d.columns.push_back({"run", true, true, ""});
  d.columns.push_back({"changed against the sweep's base configuration (old → new)", false, false, ""});
  for (const SweepEntry& e : g.entries) {
    auto it = cx.by_id.find(e.run_id);
    if (it == cx.by_id.end()) continue;
    std::vector<ConfigChange> changes = config_changes(g.base_config_json, it->second->config_json);
    if (g.at_seq) {
      // The overrides are param events before event AT_SEQ: the point's values, where the run's
      // configuration does not already show them.
      for (std::size_t a = 0; a < axes; ++a) {
        const std::string before = base_leaf(g.base_config_json, g.paths[a]);
        if (same_leaf(before, e.values[a]) ||
            std::any_of(changes.begin(), changes.end(),
                        [&](const ConfigChange& c) { return c.path == g.paths[a]; }))
          continue;
        changes.push_back(
            {g.paths[a], before,
             shown_value(e.values[a]) + " (param before event " + std::to_string(*g.at_seq) + ")"});
      }
    }
    SortTable::Row row;
    row.cells = {std::to_string(e.point), std::to_string(e.run_id), changes_html(changes)};
    row.keys = {SortKey::of_number(static_cast<long double>(e.point)),
                SortKey::of_number(static_cast<long double>(e.run_id)),
                {}};
    d.rows.push_back(std::move(row));
  }
  s += "<h3>Configuration of each point</h3><p class=\"note\">Changed leaves of runs.config_json against "
       "sweeps.base_config_json; (computed): a tier's maintenance_amount that the configuration derives for "
       "continuity and that the override of a ratio changed.</p>\n";
  s += render_sort_table(d);
  return s + "</section>\n";
}

// ---------------------------------------------------------------- stress runs
// (docs/RESULTS.md, "Stress tests"): per stress run, the statistics of each
// scenario, the bad-debt distribution with its VaR and ES lines, the fund's
// adequacy, the worst paths and the liquidation curve.

// The stress runs a database holds that finished, oldest first: their
// sections, or nothing when it has none (or no stress tables).
Result<std::string> stress_sections(Db& db) {
  bool has_tables = false;
  if (!db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stress_runs'", {},
                [&](sqlite3_stmt*) { has_tables = true; }))
    return db.io("cannot read sqlite_master: " + db.last_error()).error();
  if (!has_tables) return std::string();
  struct StressRow {
    std::int64_t id = 0, at_seq = 0, start_ts = 0, accounts = 0, paths = 0;
    std::string command, label, start_hash, fund, events_path;
    double fund_f = 0;
  };
  std::vector<StressRow> runs;
  if (!db.query(
          "SELECT id, command, label, at_seq, start_ts, start_state_hash, accounts, insurance_fund, "
          "insurance_fund_f, paths, events_path FROM stress_runs WHERE finished_ms IS NOT NULL ORDER BY id",
          {}, [&](sqlite3_stmt* st) {
            StressRow r;
            r.id = col_int(st, 0);
            r.command = col_text(st, 1);
            r.label = col_text(st, 2);
            r.at_seq = col_int(st, 3);
            r.start_ts = col_int(st, 4);
            r.start_hash = col_text(st, 5);
            r.accounts = col_int(st, 6);
            r.fund = col_text(st, 7);
            r.fund_f = col_real(st, 8);
            r.paths = col_int(st, 9);
            r.events_path = col_text(st, 10);
            runs.push_back(std::move(r));
          }))
    return db.io("cannot read stress_runs: " + db.last_error()).error();
  // The shards of runs (`liqsim stress run --shard I/N`): stress_id → "I/N, K".
  std::map<std::int64_t, std::array<std::int64_t, 3>> shards;
  bool has_shards = false;
  if (!db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stress_shards'", {},
                [&](sqlite3_stmt*) { has_shards = true; }))
    return db.io("cannot read sqlite_master: " + db.last_error()).error();
  if (has_shards && !db.query("SELECT stress_id, shard_index, shard_count, shard_paths FROM stress_shards",
                              {}, [&](sqlite3_stmt* st) {
                                shards[col_int(st, 0)] = {col_int(st, 1), col_int(st, 2), col_int(st, 3)};
                              }))
    return db.io("cannot read stress_shards: " + db.last_error()).error();
  std::string html;
  for (const StressRow& r : runs) {
    const std::string sid = "stress" + std::to_string(r.id);
    html += "<section id=\"" + sid + "\" class=\"stress\"><h2>Stress " +
            std::string(r.command == "curve" ? "curve" : "test") + " " + std::to_string(r.id) + ": " +
            esc(r.label) + "</h2>\n<p class=\"note\">From the book after event " + std::to_string(r.at_seq) +
            " of <code>" + esc(r.events_path) + "</code> (" + esc(format_rfc3339(r.start_ts)) +
            "): " + std::to_string(r.accounts) + " accounts, insurance fund " + esc(r.fund) +
            " USD, start state <code>" + esc(r.start_hash.substr(0, 16)) + "</code>" +
            (r.paths > 0 ? ", " + std::to_string(r.paths) + " paths" : std::string()) + ".</p>\n";
    if (auto sh = shards.find(r.id); sh != shards.end()) {
      const auto& [index, count, paths] = sh->second;
      html += "<p class=\"note\">Shard " + std::to_string(index) + "/" + std::to_string(count) +
              " of the run: " + std::to_string(paths) + " of its " + std::to_string(r.paths) +
              " paths. Its statistics are those of all the shards, computed when "
              "<code>liqsim stress merge</code> joins them.</p>\n</section>\n";
      continue;
    }
    struct Scenario {
      std::int64_t index = 0, paths = 0, exhausted = 0, worst = 0, covered = 0, covers1 = 0, covers2 = 0;
      std::string name, kind, cover1_account, cover1, cover2_accounts, cover2;
      double cover1_f = 0, cover2_f = 0;
    };
    std::vector<Scenario> scenarios;
    if (!db.query(
            "SELECT scenario, name, kind, paths, exhausted_paths, worst_path, cover1_account, cover1, "
            "cover1_f, cover2_accounts, cover2, cover2_f, fund_covers_1, fund_covers_2, accounts_covered "
            "FROM stress_scenarios WHERE stress_id = ? ORDER BY scenario",
            {r.id}, [&](sqlite3_stmt* st) {
              Scenario s;
              s.index = col_int(st, 0);
              s.name = col_text(st, 1);
              s.kind = col_text(st, 2);
              s.paths = col_int(st, 3);
              s.exhausted = col_int(st, 4);
              s.worst = col_int(st, 5);
              s.cover1_account = col_text(st, 6);
              s.cover1 = col_text(st, 7);
              s.cover1_f = col_real(st, 8);
              s.cover2_accounts = col_text(st, 9);
              s.cover2 = col_text(st, 10);
              s.cover2_f = col_real(st, 11);
              s.covers1 = col_int(st, 12);
              s.covers2 = col_int(st, 13);
              s.covered = col_int(st, 14);
              scenarios.push_back(std::move(s));
            }))
      return db.io("cannot read stress_scenarios: " + db.last_error()).error();
    if (!scenarios.empty()) {
      // The distribution: one row per scenario and figure.
      std::vector<std::vector<std::string>> rows;
      std::map<std::pair<std::int64_t, std::string>, std::pair<double, double>> var_es99;  // for the lines
      if (!db.query("SELECT scenario, metric, n, mean, max, var_95, es_95, var_97_5, es_97_5, var_99, es_99 "
                    "FROM stress_stats WHERE stress_id = ? ORDER BY scenario, metric",
                    {r.id}, [&](sqlite3_stmt* st) {
                      const std::int64_t sc = col_int(st, 0);
                      const std::string metric = col_text(st, 1);
                      std::string name;
                      for (const Scenario& s : scenarios)
                        if (s.index == sc) name = s.name;
                      std::vector<std::string> row = {name, metric, std::to_string(col_int(st, 2))};
                      for (int c = 3; c <= 10; ++c) row.push_back(col_text(st, c));
                      var_es99[{sc, metric}] = {std::strtod(col_text(st, 9).c_str(), nullptr),
                                                std::strtod(col_text(st, 10).c_str(), nullptr)};
                      rows.push_back(std::move(row));
                    }))
        return db.io("cannot read stress_stats: " + db.last_error()).error();
      html += "<h3>Distribution over the paths (USD; VaR and ES: Acerbi–Tasche, exact)</h3>\n";
      html +=
          "<div class=\"tw\">" +
          table({"scenario", "figure", "paths", "mean", "max", "VaR 95", "ES 95", "VaR 97.5", "ES 97.5",
                 "VaR 99", "ES 99"},
                rows, {false, false, true, true, true, true, true, true, true, true, true}, "stress-stats") +
          "</div>\n";
      // The fund's adequacy.
      std::vector<std::vector<std::string>> adequacy;
      for (const Scenario& s : scenarios) {
        const auto it = var_es99.find({s.index, "bad_debt"});
        const double es99 = it == var_es99.end() ? 0 : it->second.second;
        adequacy.push_back(
            {s.name, s.kind, std::to_string(s.exhausted) + " of " + std::to_string(s.paths),
             (s.cover1_account.empty() ? std::string("—") : s.cover1_account + ": " + s.cover1),
             s.covers1 ? "yes" : "no",
             (s.cover2_accounts.empty() ? std::string("—") : s.cover2_accounts + ": " + s.cover2),
             s.covers2 ? "yes" : "no", es99 <= r.fund_f ? "yes" : "no",
             std::to_string(s.covered) + " of " + std::to_string(r.accounts)});
      }
      html += "<h3>Is the fund of " + esc(r.fund) +
              " USD enough?</h3>\n<p class=\"note\">Paths that exhaust it (a deficit reached ADL or a "
              "socialized loss); cover-1 and cover-2: the one and two accounts whose defaults cost most in "
              "the worst path, against the fund; the fund against the 99 % ES of bad debt; the accounts "
              "whose maintenance margin covers their 99 % loss.</p>\n";
      html += "<div class=\"tw\">" +
              table({"scenario", "kind", "paths exhausting the fund", "cover-1 (worst path)", "fund covers 1",
                     "cover-2 (worst path)", "fund covers 2", "fund ≥ ES 99 of bad debt", "accounts covered"},
                    adequacy, {false, false, true, false, false, false, false, false, true}, "stress-fund") +
              "</div>\n";
      // The bad-debt distribution of each scenario with more than one path.
      for (const Scenario& s : scenarios) {
        std::vector<double> losses;
        if (!db.query(
                "SELECT bad_debt_f FROM stress_paths WHERE stress_id = ? AND scenario = ? ORDER BY path",
                {r.id, s.index}, [&](sqlite3_stmt* st) { losses.push_back(col_real(st, 0)); }))
          return db.io("cannot read stress_paths: " + db.last_error()).error();
        if (losses.size() < 2) continue;
        const auto [lo_it, hi_it] = std::minmax_element(losses.begin(), losses.end());
        const double lo = *lo_it, hi = *hi_it;
        const int bins = std::clamp(static_cast<int>(std::sqrt(static_cast<double>(losses.size()))), 5, 40);
        const double width = hi > lo ? (hi - lo) / bins : 1.0;
        std::vector<double> count(static_cast<std::size_t>(bins), 0);
        for (double v : losses)
          ++count[static_cast<std::size_t>(std::min(bins - 1, static_cast<int>((v - lo) / width)))];
        Chart c;
        c.id = sid + "-dist-" + std::to_string(s.index);
        c.title =
            "Bad debt over " + std::to_string(losses.size()) + " paths: " + s.name + " (" + s.kind + ")";
        c.x_label = "bad debt of a path (USD)";
        c.y_label = "paths";
        c.x_is_time = false;
        c.y_from_zero = true;
        c.height = 300;
        Series bars;
        bars.kind = Series::Kind::bars;
        bars.name = "paths";
        bars.color = color_of(0);
        bars.bar_width = width;
        const double top = *std::max_element(count.begin(), count.end());
        for (int b = 0; b < bins; ++b)
          bars.points.emplace_back(lo + b * width, count[static_cast<std::size_t>(b)]);
        c.series.push_back(std::move(bars));
        const auto it = var_es99.find({s.index, "bad_debt"});
        if (it != var_es99.end()) {
          int k = 3;
          for (const auto& [name, v] :
               {std::pair{"VaR 99 %", it->second.first}, std::pair{"ES 99 %", it->second.second}}) {
            Series line;
            line.kind = Series::Kind::line;
            line.name = std::string(name) + ": " + human(v);
            line.color = color_of(static_cast<std::size_t>(k++));
            line.points = {{v, 0}, {v, top}};
            c.series.push_back(std::move(line));
          }
        }
        html += Plot(c).render();
      }
      // The worst paths.
      std::vector<std::vector<std::string>> worst;
      if (!db.query("SELECT p.path, s.name, p.kind, p.path_index, p.bad_debt, p.liquidations, "
                    "p.liquidated_notional, p.insurance_paid, p.adl_amount, p.socialized_loss, p.fund_min, "
                    "p.max_account_deficit, p.state_hash FROM stress_paths p JOIN stress_scenarios s ON "
                    "s.stress_id = p.stress_id AND s.scenario = p.scenario WHERE p.stress_id = ? "
                    "ORDER BY p.bad_debt_f DESC, p.path LIMIT 10",
                    {r.id}, [&](sqlite3_stmt* st) {
                      std::vector<std::string> row;
                      for (int c = 0; c < 12; ++c)
                        row.push_back(sqlite3_column_type(st, c) == SQLITE_INTEGER
                                          ? std::to_string(col_int(st, c))
                                          : col_text(st, c));
                      row.push_back(col_text(st, 12).substr(0, 16));
                      worst.push_back(std::move(row));
                    }))
        return db.io("cannot read stress_paths: " + db.last_error()).error();
      html += "<h3>The 10 worst paths by bad debt</h3>\n";
      html += "<div class=\"tw\">" +
              table({"path", "scenario", "kind", "index", "bad debt", "liquidations", "liquidated notional",
                     "insurance paid", "ADL", "socialized", "fund lowest", "largest account deficit",
                     "state_hash"},
                    worst, {true, false, false, true, true, true, true, true, true, true, true, true, false},
                    "stress-worst") +
              "</div>\n";
    }
    // The liquidation curve, if this run has one.
    std::map<std::string, std::vector<std::array<double, 5>>> curve;  // asset → (move, four figures)
    if (!db.query("SELECT asset, move_f, liquidatable_notional_f, liquidated_notional_f, bad_debt_direct_f, "
                  "bad_debt_f FROM stress_curve WHERE stress_id = ? ORDER BY asset, move_f",
                  {r.id}, [&](sqlite3_stmt* st) {
                    curve[col_text(st, 0)].push_back({col_real(st, 1), col_real(st, 2), col_real(st, 3),
                                                      col_real(st, 4), col_real(st, 5)});
                  }))
      return db.io("cannot read stress_curve: " + db.last_error()).error();
    for (const auto& [asset, points] : curve) {
      Chart c;
      c.id = sid + "-curve-" + asset;
      c.title = "Liquidation curve: instantaneous moves of " + asset;
      c.x_label = "move of " + asset + " (%)";
      c.y_label = "USD";
      c.x_is_time = false;
      c.y_from_zero = true;
      const char* names[] = {"liquidatable notional (no cascade)", "liquidated notional (with the cascade)",
                             "bad debt (no cascade)", "bad debt (with the cascade)"};
      for (std::size_t k = 0; k < 4; ++k) {
        Series s;
        s.kind = Series::Kind::line;
        s.name = names[k];
        s.color = color_of(k);
        for (const auto& p : points) s.points.emplace_back(p[0] * 100, p[k + 1]);
        c.series.push_back(std::move(s));
      }
      html += Plot(c).render();
    }
    html += "</section>\n";
  }
  return html;
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
  sql += ", config_json FROM runs WHERE complete = 1 ORDER BY id";
  constexpr int kConfigColumn = 9 + static_cast<int>(sizeof kRunColumns / sizeof kRunColumns[0]);
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
        r.config_json = col_text(st, kConfigColumn);
        runs.push_back(std::move(r));
      }))
    return query_failed("runs");
  if (check.error()) return *check.error();
  auto stress = stress_sections(db);
  if (!stress) return stress.error();
  if (runs.empty() && !stress->empty()) {
    // A database of stress runs alone: their page.
    std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    html += "<title>liqsim report — stress tests</title>\n<style>" + std::string(kCss) +
            "</style>\n</head>\n<body>\n";
    html += "<header><h1>Stress tests of collateral adequacy</h1><div class=\"meta\">" + esc(db_path) +
            "</div></header>\n<main>\n" + *stress;
    html +=
        "</main>\n<footer style=\"padding:0 36px 30px;font-size:11.5px;color:#6b7785\">Generated by liqsim "
        "report from " +
        esc(db_path) + ". Self-contained: no scripts, no network.</footer>\n</body>\n</html>\n";
    return html;
  }
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
  ReportContext cx;
  for (const RunRow& r : runs) cx.by_id[r.id] = &r;
  const RunRow* baseline = nullptr;  // --baseline; else each comparison's first run
  if (options.baseline_run_id != 0) {
    auto it = cx.by_id.find(options.baseline_run_id);
    if (it == cx.by_id.end()) {
      Error e =
          db.io("no complete run with id " + std::to_string(options.baseline_run_id) + " to compare against")
              .error();
      e.kind = ErrorKind::usage;
      e.field = "--baseline";
      return e;
    }
    baseline = it->second;
  }
  // A rerun: the same log, configuration and final state as an earlier run.
  {
    std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> first_of;
    for (const RunRow& r : runs) {
      auto [it, fresh] =
          first_of.emplace(std::make_tuple(r.events_sha256, r.config_json, r.state_hash), r.id);
      if (!fresh) cx.rerun_of[r.id] = it->second;
    }
  }

  // Sweeps (docs/RESULTS.md, "Sweeps"): grouped by sweep_key, so the shards
  // of one sweep, merged into one database, are one table.
  std::vector<SweepGroup> sweeps;
  std::set<std::int64_t> in_sweep;  // runs of a point or a prefix
  bool has_sweeps = false;
  if (!db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sweeps'", {},
                [&](sqlite3_stmt*) { has_sweeps = true; }))
    return query_failed("sqlite_master");
  if (has_sweeps) {
    std::map<std::int64_t, std::size_t> group_of;  // sweeps.id → index in `sweeps`
    if (!db.query("SELECT id, label, sweep_key, grid_json, base_config_json, points, at_seq, prefix_run_id "
                  "FROM sweeps ORDER BY id",
                  {}, [&](sqlite3_stmt* st) {
                    const std::string key = col_text(st, 2);
                    auto same = std::find_if(sweeps.begin(), sweeps.end(),
                                             [&](const SweepGroup& g) { return g.key == key; });
                    if (same == sweeps.end()) {
                      SweepGroup g;
                      g.label = col_text(st, 1);
                      g.key = key;
                      g.base_config_json = col_text(st, 4);
                      g.points = check.in_range(st, 5, "sweeps.points", 0, kMaxSweepPointsRead, "points");
                      if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                        g.at_seq = check.in_range(st, 6, "sweeps.at_seq", 0, INT64_MAX, "an event's seq");
                      if (auto grid = parse_json(col_text(st, 3)); grid && grid->is_object()) {
                        if (const JsonValue* z = grid->find("zip"))
                          g.zip = z->kind == JsonValue::Kind::boolean && z->boolean;
                        if (const JsonValue* a = grid->find("axes"); a && a->kind == JsonValue::Kind::array)
                          for (const JsonValue& axis : a->items)
                            if (const JsonValue* path = axis.find("path"); path && path->is_string())
                              g.paths.push_back(path->text);
                      }
                      sweeps.push_back(std::move(g));
                      same = sweeps.end() - 1;
                    }
                    same->sweep_ids.push_back(col_int(st, 0));
                    if (sqlite3_column_type(st, 7) == SQLITE_INTEGER) {
                      same->prefix_runs.insert(col_int(st, 7));
                      in_sweep.insert(col_int(st, 7));
                    }
                    group_of[col_int(st, 0)] = static_cast<std::size_t>(same - sweeps.begin());
                  }))
      return query_failed("sweeps");
    if (!db.query("SELECT sweep_id, point, axis, run_id, path, value, value_f FROM sweep_points "
                  "ORDER BY sweep_id, point, run_id, axis",
                  {}, [&](sqlite3_stmt* st) {
                    auto g = group_of.find(col_int(st, 0));
                    if (g == group_of.end()) return;
                    SweepGroup& sg = sweeps[g->second];
                    const std::int64_t point =
                        check.in_range(st, 1, "sweep_points.point", 0, kMaxSweepPointsRead, "a point index");
                    const auto axis = static_cast<std::size_t>(
                        check.in_range(st, 2, "sweep_points.axis", 0, 63, "an axis index"));
                    const std::int64_t run_id = col_int(st, 3);
                    in_sweep.insert(run_id);
                    if (sg.entries.empty() || sg.entries.back().point != point ||
                        sg.entries.back().run_id != run_id)
                      sg.entries.push_back({point, run_id, {}, {}});
                    SweepEntry& e = sg.entries.back();
                    if (e.values.size() <= axis) e.values.resize(axis + 1), e.numbers.resize(axis + 1);
                    e.values[axis] = col_text(st, 5);
                    if (sqlite3_column_type(st, 6) != SQLITE_NULL)
                      e.numbers[axis] = check.real(st, 6, "sweep_points.value_f");
                    if (sg.paths.size() <= axis) sg.paths.resize(axis + 1);
                    if (sg.paths[axis].empty()) sg.paths[axis] = col_text(st, 4);
                  }))
      return query_failed("sweep_points");
    if (check.error()) return *check.error();
    for (SweepGroup& g : sweeps) {
      // Points in point order (shards may interleave), each point's runs by id; every entry has every axis.
      std::stable_sort(g.entries.begin(), g.entries.end(), [](const SweepEntry& a, const SweepEntry& b) {
        return a.point != b.point ? a.point < b.point : a.run_id < b.run_id;
      });
      for (SweepEntry& e : g.entries) e.values.resize(g.paths.size()), e.numbers.resize(g.paths.size());
      // Only points whose run is a complete run.
      std::erase_if(g.entries, [&](const SweepEntry& e) { return !cx.by_id.count(e.run_id); });
    }
    std::erase_if(sweeps, [](const SweepGroup& g) { return g.entries.empty(); });
  }

  // Metrics per run (key order as written).
  std::map<std::int64_t, std::vector<std::pair<std::string, std::string>>> metrics;
  if (!db.query("SELECT run_id, key, value FROM metrics ORDER BY run_id, n", {}, [&](sqlite3_stmt* st) {
        metrics[col_int(st, 0)].emplace_back(col_text(st, 1), col_text(st, 2));
      }))
    return query_failed("metrics");

  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>liqsim report — " + esc(run->label) + " (run " + std::to_string(rid) + ")</title>\n";
  html += "<style>" + std::string(kCss) +
          (runs.size() > 1 ? sort_css(kMaxSortColumns) + heat_css() + kSweepCss : "") +
          "</style>\n</head>\n<body>\n";
  html += "<header><h1>Liquidation replay: " + esc(run->label) + "</h1><div class=\"meta\">";
  html += "Run " + std::to_string(rid) + " · " + esc(run->engine_version) + " · events <code>" +
          esc(run->events_path) + "</code> (sha256 <code>" + esc(run->events_sha256.substr(0, 16)) +
          "…</code>)<br>";
  html += "Event time " + esc(format_rfc3339(run->first_ts)) + " → " + esc(format_rfc3339(run->last_ts)) +
          " · state hash <code>" + esc(run->state_hash.substr(0, 16)) + "…</code>";
  if (runs.size() > 1) html += " · " + std::to_string(runs.size()) + " runs in this database";
  if (!sweeps.empty())
    html += " · " + std::to_string(sweeps.size()) + (sweeps.size() == 1 ? " sweep" : " sweeps") +
            " (below; then this run's own report)";
  html += "</div></header>\n<main>\n";
  for (std::size_t i = 0; i < sweeps.size(); ++i) {
    const SweepGroup& g = sweeps[i];
    const RunRow& base = baseline ? *baseline : *cx.by_id.at(g.entries.front().run_id);
    html += sweep_section(g, i, cx, base);
  }

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

  // Several runs outside any sweep: one row per run, sortable, with the
  // differences from the baseline and the configuration against its.
  std::vector<const RunRow*> compared;
  for (const RunRow& r : runs)
    if (!in_sweep.count(r.id)) compared.push_back(&r);
  if (compared.size() > 1) {
    const RunRow& base = baseline ? *baseline : *compared.front();
    std::vector<std::string> keys;
    for (const auto& [k, v] : runs.front().fields) keys.push_back(k);
    std::vector<std::string> mkeys;
    for (const RunRow* r : compared)
      for (const auto& [k, v] : metrics[r->id])
        if (std::find(mkeys.begin(), mkeys.end(), k) == mkeys.end()) mkeys.push_back(k);
    auto value_of = [](const std::vector<std::pair<std::string, std::string>>& f, const std::string& k) {
      for (const auto& [kk, v] : f)
        if (kk == k) return unquote(v);
      return std::string("—");
    };
    SortTable t;
    t.id = "comparison-table";
    t.columns.push_back({"run", true, true, "runs.id"});
    t.columns.push_back({"label", false, true, "runs.label"});
    t.columns.push_back({"note", false, false, ""});
    for (const auto& k : keys) t.columns.push_back({k, k != "state_hash", true, "summary"});
    for (const auto& k : mkeys) t.columns.push_back({k, true, t.columns.size() < kMaxSortColumns, "metric"});
    for (const RunRow* r : compared) {
      SortTable::Row row;
      row.cells.push_back(std::to_string(r->id));
      row.keys.push_back(SortKey::of_number(static_cast<long double>(r->id)));
      row.cells.push_back(esc(r->label));
      row.keys.push_back(SortKey::of_text(r->label));
      row.cells.push_back(note_of(cx, r->id, base.id));
      row.keys.emplace_back();
      for (const auto& k : keys) {
        const std::string v = value_of(r->fields, k);
        if (k == "state_hash") {
          row.cells.push_back("<code title=\"" + esc(v) + "\">" + esc(v.substr(0, 12)) + "</code>");
          row.keys.push_back(SortKey::of_text(v));
        } else {
          row.cells.push_back(with_delta(v, value_of(base.fields, k), r->id == base.id));
          row.keys.push_back(SortKey::of_value(v));
        }
      }
      for (const auto& k : mkeys) {
        const std::string v = value_of(metrics[r->id], k);
        row.cells.push_back(esc(v));
        row.keys.push_back(SortKey::of_value(v));
      }
      t.rows.push_back(std::move(row));
    }
    html +=
        "<section id=\"comparison\"><h2>Comparison of runs</h2>\n<p class=\"note\">One row per run; ▲ ▼ in "
        "a column's header sort by it. Under each summary value: its difference from the baseline, run " +
        std::to_string(base.id) + " (" + esc(base.label) + "), and in percent of the baseline's.</p>\n";
    html += render_sort_table(t);
    SortTable d;
    d.id = "comparison-config";
    d.columns.push_back({"run", true, true, ""});
    d.columns.push_back({"label", false, true, ""});
    d.columns.push_back(
        {"configuration against the baseline's, run " + std::to_string(base.id) + " (old → new)", false,
         false, ""});
    for (const RunRow* r : compared) {
      SortTable::Row row;
      row.cells = {std::to_string(r->id), esc(r->label),
                   r->id == base.id ? std::string("<span class=\"muted\">baseline</span>")
                                    : changes_html(config_changes(base.config_json, r->config_json))};
      row.keys = {SortKey::of_number(static_cast<long double>(r->id)), SortKey::of_text(r->label), {}};
      d.rows.push_back(std::move(row));
    }
    html += "<h3>Configuration of each run</h3>\n" + render_sort_table(d);
    Chart c;
    c.id = "fund-overlay";
    c.title = "Insurance fund balance, all runs";
    c.x_label = "minutes since the run's first event";
    c.y_label = "balance (USD)";
    c.x_is_time = false;
    c.x_is_minutes = true;
    std::size_t k = 0;
    for (const RunRow* r : compared) {
      Series s;
      s.kind = Series::Kind::step;
      s.name = "run " + std::to_string(r->id) + ": " + r->label;
      s.color = color_of(k++);
      for (const auto& [t, b] : fund[r->id])
        s.points.emplace_back((t - static_cast<double>(r->first_ts)) / 60000.0, b);
      c.series.push_back(std::move(s));
    }
    html += Plot(c).render() + "</section>\n";
  }

  html += *stress;  // the stress runs of the same database, if any
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
