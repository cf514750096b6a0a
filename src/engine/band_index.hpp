// band_index.hpp — which accounts a price change can affect, in O(log n + k).
//
// Every state boundary of a unit (margin-call threshold, maintenance
// requirement) is a function f of the prices it depends on, and f's change is
// bounded by L·|Δp| when a price moves by Δp, with
//     L = Σ positions |qty|·(1 + max maintenance ratio) + Σ non-USD balances |amount|
// (equity moves at most |qty| per unit of mark and |amount| per unit of
// collateral price; the maintenance requirement at most |qty|·mmr, tiers
// included, because tiers are continuous). If the account's smallest slack to
// any boundary is S, no boundary can be crossed while every price it depends
// on stays within ±S/L of its value at the last exact evaluation (the changes
// add up to at most S). So each account puts, for each price key it depends
// on (a market's mark, a collateral asset's price), a lower and an upper bound
// in two heaps of that key; a tick pops only the bounds it crosses. Crossed
// accounts are evaluated exactly and get new bands. Nothing is approximated:
// a band only decides who is looked at, and `--reference-scan` plus the
// differential test prove the results identical.
//
// Slack S uses thr − 1e-8 in place of the margin-call threshold (the ratio
// is rounded up to 8 digits) and subtracts a rounding allowance of 16·1e-8
// per term, so rounding never lets a crossing slip through. Stale heap entries
// (an account refreshed since) are skipped by a version number and purged when
// a heap grows past twice its live size.
#pragma once

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <vector>

#include "state.hpp"

namespace liqsim::engine {

// What the index needs of the engine (Engine::Impl::IndexHost): the price of
// each key, an account's state and its units' risk, two configuration values,
// and one action, making an account a candidate for exact evaluation.
template <class H>
concept BandHost = requires(H& h, const H& ch, std::uint32_t i, const Account& a, const PositionSlot& p) {
  h.add_candidate(i);
  { ch.account(i) } -> std::same_as<const Account&>;
  { ch.mark_raw(i) } -> std::same_as<std::int64_t>;
  { ch.price_raw(i) } -> std::same_as<std::int64_t>;
  { ch.max_maintenance_ratio_raw(i) } -> std::same_as<std::int64_t>;
  { ch.margin_call_threshold_raw() } -> std::same_as<std::int64_t>;
  ch.cross_risk(a).equity;
  ch.iso_risk(p).mm;
};

class BandIndex {
 public:
  BandIndex(std::size_t markets, std::size_t assets) : markets_(markets), keys_(markets + assets) {}

  void add_account() { version_.push_back(0); }
  // An account that changes is re-evaluated and refreshed anyway; so is every
  // unit a param can affect (Engine::Impl::add_param_candidates).
  void invalidate(std::uint32_t) {}

  // The keys: a market's mark, and a collateral asset's price.
  std::uint32_t mark_key(std::uint32_t market) const { return market; }
  std::uint32_t price_key(std::uint32_t asset) const { return static_cast<std::uint32_t>(markets_ + asset); }

  // Makes a candidate of every account whose band on key `k` the key's new
  // value `value` has crossed (a new price, or a mark moved by impact).
  template <BandHost H>
  void collect(H& h, std::uint32_t k, std::int64_t value) {
    pop_crossed(h, k, value);
  }

  // Re-bands an account after its exact evaluation. Each unit (cross, or an
  // isolated position) splits its slack S equally over the n price keys it
  // depends on; key k gets the half-width (S / n) / L_k, where L_k bounds how
  // fast the unit's boundaries move per unit of that price. An account's band
  // on a key is the narrowest over its units. If no key leaves its band,
  // Σ_k L_k·|Δ_k| ≤ Σ_k S / n = S for every unit: no boundary was reached.
  template <BandHost H>
  void refresh(H& h, std::uint32_t acct) {
    std::uint32_t ver = ++version_[acct];
    const Account& a = h.account(acct);
    using i128 = __int128;
    widths_.clear();
    // The cross unit: its positions' marks and its non-USD collateral prices.
    unit_keys_.clear();
    std::uint32_t terms = 2;
    for (const PositionSlot& p : a.positions) {
      ++terms;
      if (p.mode != MarginMode::cross || p.qty.is_zero()) continue;
      i128 q = p.qty.abs().raw();
      unit_keys_.push_back({mark_key(p.market), q + q * h.max_maintenance_ratio_raw(p.market) / kScale + 1});
    }
    for (const BalanceSlot& b : a.balances) {
      ++terms;
      if (b.asset == 0 || b.amount.is_zero()) continue;
      unit_keys_.push_back({price_key(b.asset), i128(b.amount.abs().raw()) + 1});
    }
    if (!unit_keys_.empty()) add_unit_widths(unit_slack(h, a.state, h.cross_risk(a)) - i128(16) * terms);
    for (const PositionSlot& p : a.positions) {
      if (p.mode != MarginMode::isolated || p.qty.is_zero()) continue;
      unit_keys_.clear();
      i128 q = p.qty.abs().raw();
      unit_keys_.push_back({mark_key(p.market), q + q * h.max_maintenance_ratio_raw(p.market) / kScale + 1});
      add_unit_widths(unit_slack(h, p.iso_state, h.iso_risk(p)) - 64);
    }
    for (const auto& [k, width] : widths_) {
      std::int64_t value =
          k < markets_ ? h.mark_raw(k) : h.price_raw(static_cast<std::uint32_t>(k - markets_));
      Key& key = keys_[k];
      i128 lo = i128(value) - width, hi = i128(value) + width;
      if (lo > 0) push(key.lower, Entry{static_cast<std::int64_t>(lo), acct, ver}, true);
      if (hi < INT64_MAX) push(key.upper, Entry{static_cast<std::int64_t>(hi), acct, ver}, false);
      maybe_compact(key);
    }
  }

  std::size_t entries() const {
    std::size_t n = 0;
    for (const Key& k : keys_) n += k.lower.size() + k.upper.size();
    return n;
  }

 private:
  static constexpr __int128 kUnbounded = (__int128(1) << 100);

  struct Entry {
    std::int64_t bound;
    std::uint32_t account;
    std::uint32_t version;
  };
  struct Key {
    std::vector<Entry> lower;  // max-heap on bound: crossed when the value falls to it
    std::vector<Entry> upper;  // min-heap on bound: crossed when the value rises to it
  };

  // 4-ary heaps: half the depth of a binary heap, and the four children of a
  // node share a cache line (16-byte entries), which matters with a million
  // accounts. `Before(a, b)` is true when a belongs nearer the top.
  template <class Before>
  static void sift_up(std::vector<Entry>& h, std::size_t i, Before before) {
    Entry e = h[i];
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!before(e, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = e;
  }
  template <class Before>
  static void sift_down(std::vector<Entry>& h, std::size_t i, Before before) {
    std::size_t n = h.size();
    Entry e = h[i];
    for (;;) {
      std::size_t first = 4 * i + 1;
      if (first >= n) break;
      std::size_t best = first, last = std::min(first + 4, n);
      for (std::size_t c = first + 1; c < last; ++c)
        if (before(h[c], h[best])) best = c;
      if (!before(h[best], e)) break;
      h[i] = h[best];
      i = best;
    }
    h[i] = e;
  }
  static bool lower_first(const Entry& a, const Entry& b) { return a.bound > b.bound; }  // max-heap
  static bool upper_first(const Entry& a, const Entry& b) { return a.bound < b.bound; }  // min-heap

  static void push(std::vector<Entry>& heap, Entry e, bool lower) {
    heap.push_back(e);
    if (lower)
      sift_up(heap, heap.size() - 1, lower_first);
    else
      sift_up(heap, heap.size() - 1, upper_first);
  }
  static void pop_top(std::vector<Entry>& heap, bool lower) {
    heap.front() = heap.back();
    heap.pop_back();
    if (heap.empty()) return;
    if (lower)
      sift_down(heap, 0, lower_first);
    else
      sift_down(heap, 0, upper_first);
  }
  static void heapify(std::vector<Entry>& heap, bool lower) {
    for (std::size_t i = heap.size() / 4 + 1; i-- > 0;) {
      if (i >= heap.size()) continue;
      if (lower)
        sift_down(heap, i, lower_first);
      else
        sift_down(heap, i, upper_first);
    }
  }

  template <BandHost H>
  void pop_crossed(H& h, std::uint32_t k, std::int64_t value) {
    if (k >= keys_.size()) return;
    Key& key = keys_[k];
    while (!key.lower.empty() && key.lower.front().bound >= value) {
      Entry top = key.lower.front();
      pop_top(key.lower, true);
      if (top.version == version_[top.account]) h.add_candidate(top.account);
    }
    while (!key.upper.empty() && key.upper.front().bound <= value) {
      Entry top = key.upper.front();
      pop_top(key.upper, false);
      if (top.version == version_[top.account]) h.add_candidate(top.account);
    }
  }

  void maybe_compact(Key& key) {
    auto compact = [&](std::vector<Entry>& heap, bool lower) {
      std::size_t live_bound = 2 * version_.size() + 1024;
      if (heap.size() <= live_bound) return;
      heap.erase(std::remove_if(heap.begin(), heap.end(),
                                [&](const Entry& x) { return x.version != version_[x.account]; }),
                 heap.end());
      heapify(heap, lower);
    };
    compact(key.lower, true);
    compact(key.upper, false);
  }

  // Distance (USD raw) from the unit's risk now to the nearest boundary that
  // would change its state: the margin-call threshold, crossed from either
  // side (the stored state may lag inside an event), or the maintenance
  // requirement. Zero when the unit is already liquidatable.
  template <BandHost H, class R>
  static __int128 unit_slack(const H& h, RiskState state, const R& r) {
    using i128 = __int128;
    if (state == RiskState::liquidating || state == RiskState::bankrupt || state == RiskState::resolved)
      return 0;
    i128 equity = r.equity.raw(), mm = r.mm.raw();
    if (mm == 0) {
      // No requirement: the only boundary is equity < 0 (a debt the collateral no longer covers).
      return equity >= 0 ? equity : 0;
    }
    i128 to_liquidation = equity - mm;  // ≥ 0 while not liquidatable
    if (to_liquidation < 0) return 0;
    i128 thr = h.margin_call_threshold_raw() - 1;  // the ratio is rounded up to 8 digits
    i128 to_call = thr * equity / kScale - mm;     // > 0 below the threshold, ≤ 0 at or above
    return std::min(to_call < 0 ? -to_call : to_call, to_liquidation);
  }

  // Narrowest half-width per key over the units seen so far in refresh().
  void add_unit_widths(__int128 slack) {
    using i128 = __int128;
    if (slack >= kUnbounded / 2) return;
    i128 share = slack <= 0 ? 0 : slack / static_cast<i128>(unit_keys_.size());
    for (const auto& [k, sensitivity] : unit_keys_) {
      i128 width = share * kScale / sensitivity;  // price raw units
      bool found = false;
      for (auto& [wk, w] : widths_)
        if (wk == k) {
          w = std::min(w, width);
          found = true;
        }
      if (!found) widths_.push_back({k, width});
    }
  }

  std::size_t markets_ = 0;
  std::vector<Key> keys_;
  std::vector<std::pair<std::uint32_t, __int128>> unit_keys_;  // (key, sensitivity) of one unit
  std::vector<std::pair<std::uint32_t, __int128>> widths_;     // (key, half-width) of the account
  std::vector<std::uint32_t> version_;
};

}  // namespace liqsim::engine
