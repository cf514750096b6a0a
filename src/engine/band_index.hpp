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
// with that key (BandSide: bounds in buckets of price); a tick takes out only
// the bounds it crosses. Crossed accounts are evaluated exactly and get new
// bands. Nothing is approximated: a band only decides who is looked at, and
// `--reference-scan` plus the differential test prove the results identical.
// The order in which crossed accounts become candidates is not an output:
// every later step orders what it does by a total order of its own.
//
// Slack S uses thr − 1e-8 in place of the margin-call threshold (the ratio
// is rounded up to 8 digits) and subtracts a rounding allowance of 16·1e-8
// per term, so rounding never lets a crossing slip through. Stale entries
// (an account refreshed since) are skipped by a version number and purged when
// a side holds more than twice as many entries as there are accounts.
#pragma once

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstdint>
#include <vector>

#include "liqsim/error.hpp"
#include "state.hpp"

namespace liqsim::engine {

// What the index needs of the engine (Engine::Impl::IndexHost): the price of
// each key, an account's state and its units' risk, two configuration values,
// and one action, making an account a candidate for exact evaluation.
template <class H>
concept BandHost = requires(H& h, const H& ch, std::uint32_t i, const Account& a, const PositionSlot& p) {
  h.add_candidate(i);
  ch.prefetch(i);
  { ch.account(i) } -> std::same_as<const Account&>;
  { ch.mark_raw(i) } -> std::same_as<std::int64_t>;
  { ch.price_raw(i) } -> std::same_as<std::int64_t>;
  { ch.max_maintenance_ratio_raw(i) } -> std::same_as<std::int64_t>;
  { ch.margin_call_threshold_raw() } -> std::same_as<std::int64_t>;
  ch.cross_risk(a).equity;
  ch.iso_risk(a, p).mm;
};

// One side of one price key: the bounds crossed when the key's value falls
// to them (a lower side: bound ≥ value) or rises to them (an upper side:
// bound ≤ value). Bounds are kept in buckets of the value, bucket b holding
// [b·2^shift, (b+1)·2^shift) for b below the bucket count, and in a heap
// beyond that (bounds far above the value, rarely reached). A crossing takes
// out every bucket strictly between the side's extreme occupied bucket and
// the value's bucket wholesale, and from the value's own bucket the bounds an
// exact comparison says are crossed: no per-entry ordering work, and the
// buckets passed over are the ones the value moved across. The layout (the
// shift and the bucket count) is chosen from the value and the number of
// entries, and chosen again, dropping stale entries, when the value leaves
// the buckets' range, when the buckets get crowded, or when stale entries
// pile up (`rebuild`). Which entries a crossing takes out never depends on
// the layout.
class BandSide {
 public:
  struct Entry {
    std::int64_t bound;
    std::uint32_t account;
    std::uint32_t version;
  };

  explicit BandSide(bool lower) : lower_(lower) {}

  // The fewest buckets: 1/128 to 1/256 of the value each, so the value's own
  // bucket (compared entry by entry at every crossing) stays small however
  // few the entries; the most, for a million accounts on one key.
  static constexpr std::size_t kMinBuckets = 512;
  static constexpr std::size_t kMaxBuckets = std::size_t(1) << 16;

  std::size_t size() const { return size_; }
  std::size_t bucket_count() const { return buckets_.size(); }

  // Adds a bound; `value` is the key's value now, `most` the number of
  // entries past which the stale ones are dropped, `live(e)` whether an entry
  // is still its account's current one.
  template <class Live>
  void push(Entry e, std::int64_t value, std::size_t most, Live&& live) {
    if (buckets_.empty()) layout(value, 0);
    place(e);
    ++size_;
    const bool crowded = size_ > 2 * kPerBucket * buckets_.size() && buckets_.size() < kMaxBuckets;
    if (size_ > most || crowded) rebuild(value, live);
  }

  // Memory hints for a push of `bound` soon: the bucket's header, then its end.
  void prefetch_bucket(std::int64_t bound) const {
    const std::size_t b = bucket_of(bound);
    if (b < buckets_.size()) __builtin_prefetch(&buckets_[b]);
  }
  void prefetch_bucket_end(std::int64_t bound) const {
    const std::size_t b = bucket_of(bound);
    if (b < buckets_.size()) __builtin_prefetch(buckets_[b].data() + buckets_[b].size());
  }

  // Takes out every entry the value `value` crosses, calling crossed(e) for each.
  template <class Live, class Crossed>
  void take_crossed(std::int64_t value, Live&& live, Crossed&& crossed) {
    if (size_ == 0) return;
    std::size_t vb = bucket_of(value);
    if (vb >= buckets_.size() || (shift_ > 0 && vb < buckets_.size() / 64)) {
      rebuild(value, live);  // the value left the buckets' range (or they are too coarse for it)
      vb = bucket_of(value);
    }
    if (lower_) {
      while (!far_.empty() && far_.front().bound >= value) take_far_top(crossed);
      for (std::size_t b = top_; b > vb; --b) take_all(b, crossed);
      // The value's own bucket is looked into only when its highest bound is crossed.
      if (vb <= top_ && extreme_[vb] >= value)
        take_some(vb, crossed, [value](std::int64_t x) { return x >= value; });
      top_ = std::min(top_, vb);
    } else {
      while (!far_.empty() && far_.front().bound <= value) take_far_top(crossed);
      for (std::size_t b = bottom_; b < vb; ++b) take_all(b, crossed);
      if (vb >= bottom_ && extreme_[vb] <= value)
        take_some(vb, crossed, [value](std::int64_t x) { return x <= value; });
      bottom_ = std::max(bottom_, vb);
    }
  }

  // Drops the stale entries and lays the rest out again around `value`.
  template <class Live>
  void rebuild(std::int64_t value, Live&& live) {
    std::vector<Entry> keep;
    keep.reserve(size_);
    for (const auto& bucket : buckets_)
      for (const Entry& e : bucket)
        if (live(e)) keep.push_back(e);
    for (const Entry& e : far_)
      if (live(e)) keep.push_back(e);
    layout(value, keep.size());
    for (const Entry& e : keep) place(e);
    size_ = keep.size();
  }

 private:
  static constexpr std::size_t kPerBucket = 16;  // entries per bucket the layout aims at

  std::size_t bucket_of(std::int64_t x) const {
    return x <= 0 ? 0 : static_cast<std::size_t>(static_cast<std::uint64_t>(x) >> shift_);
  }

  // Buckets for `entries` entries, the value in the lower half of their range:
  // value >> shift in [count/4, count/2), so the range reaches 2 to 4 times the value.
  void layout(std::int64_t value, std::size_t entries) {
    std::size_t count = kMinBuckets;
    while (count < kMaxBuckets && count * kPerBucket < entries) count *= 2;
    const int count_bits = std::countr_zero(count);
    const int value_bits = value > 0 ? std::bit_width(static_cast<std::uint64_t>(value)) : 0;
    shift_ = std::max(0, value_bits - count_bits + 1);
    buckets_.assign(count, {});
    extreme_.assign(count, empty_extreme());
    far_.clear();
    top_ = 0;
    bottom_ = count;
  }

  void place(const Entry& e) {
    const std::size_t b = bucket_of(e.bound);
    if (b >= buckets_.size()) {
      far_push(e);
      return;
    }
    buckets_[b].push_back(e);
    if (lower_) {
      top_ = std::max(top_, b);
      extreme_[b] = std::max(extreme_[b], e.bound);
    } else {
      bottom_ = std::min(bottom_, b);
      extreme_[b] = std::min(extreme_[b], e.bound);
    }
  }

  // The extreme of an empty bucket: never crossed.
  std::int64_t empty_extreme() const { return lower_ ? INT64_MIN : INT64_MAX; }

  template <class Crossed>
  void take_all(std::size_t b, Crossed& crossed) {
    std::vector<Entry>& bucket = buckets_[b];
    for (const Entry& e : bucket) crossed(e);
    size_ -= bucket.size();
    bucket.clear();
    extreme_[b] = empty_extreme();
  }
  template <class Crossed, class Test>
  void take_some(std::size_t b, Crossed& crossed, Test test) {
    std::vector<Entry>& bucket = buckets_[b];
    std::size_t kept = 0;
    std::int64_t extreme = empty_extreme();
    for (std::size_t i = 0; i < bucket.size(); ++i) {
      if (test(bucket[i].bound)) {
        crossed(bucket[i]);
      } else {
        extreme = lower_ ? std::max(extreme, bucket[i].bound) : std::min(extreme, bucket[i].bound);
        bucket[kept++] = bucket[i];
      }
    }
    size_ -= bucket.size() - kept;
    bucket.resize(kept);
    extreme_[b] = extreme;
  }

  // The far entries: a 4-ary heap, the bound nearest the buckets on top.
  bool before(const Entry& a, const Entry& b) const { return lower_ ? a.bound > b.bound : a.bound < b.bound; }
  void far_push(const Entry& e) {
    far_.push_back(e);
    std::size_t i = far_.size() - 1;
    while (i > 0) {
      std::size_t parent = (i - 1) / 4;
      if (!before(e, far_[parent])) break;
      far_[i] = far_[parent];
      i = parent;
    }
    far_[i] = e;
  }
  template <class Crossed>
  void take_far_top(Crossed& crossed) {
    const Entry top = far_.front();
    far_.front() = far_.back();
    far_.pop_back();
    --size_;
    if (!far_.empty()) {
      const std::size_t n = far_.size();
      const Entry e = far_.front();
      std::size_t i = 0;
      for (;;) {
        std::size_t first = 4 * i + 1;
        if (first >= n) break;
        std::size_t best = first, last = std::min(first + 4, n);
        for (std::size_t c = first + 1; c < last; ++c)
          if (before(far_[c], far_[best])) best = c;
        if (!before(far_[best], e)) break;
        far_[i] = far_[best];
        i = best;
      }
      far_[i] = e;
    }
    crossed(top);
  }

  bool lower_;
  int shift_ = 0;
  std::size_t size_ = 0;
  std::size_t top_ = 0;     // lower side: no entry in a bucket above this one
  std::size_t bottom_ = 0;  // upper side: no entry in a bucket below this one
  std::vector<std::vector<Entry>> buckets_;
  // Per bucket, its most easily crossed bound (lower side: the highest;
  // upper side: the lowest), so a value inside a bucket costs one compare
  // until it crosses something there.
  std::vector<std::int64_t> extreme_;
  std::vector<Entry> far_;
};

class BandIndex {
 public:
  BandIndex(std::size_t markets, std::size_t assets) : markets_(markets), keys_(markets + assets) {}

  void add_account() { version_.push_back(0); }
  // A memory hint: refresh(acct) comes soon.
  void prefetch(std::uint32_t acct) const { __builtin_prefetch(&version_[acct]); }
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
    LIQSIM_ASSERT(unplaced_.empty(), "band index: refreshed bounds not placed before a crossing");
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
      add_unit_widths(unit_slack(h, p.iso_state, h.iso_risk(a, p)) - 64);
    }
    for (const auto& [k, width] : widths_) {
      std::int64_t value =
          k < markets_ ? h.mark_raw(k) : h.price_raw(static_cast<std::uint32_t>(k - markets_));
      i128 lo = i128(value) - width, hi = i128(value) + width;
      if (lo > 0) unplaced_.push_back({k, true, value, Entry{static_cast<std::int64_t>(lo), acct, ver}});
      if (hi < INT64_MAX)
        unplaced_.push_back({k, false, value, Entry{static_cast<std::int64_t>(hi), acct, ver}});
    }
  }

  // Puts the bounds of the refreshes since the last call in their buckets:
  // after a batch of refreshes, before the next crossing (collect asserts
  // it). Batched so that each bucket's end is asked for from memory a few
  // bounds ahead, which at a million accounts is most of a refresh's cost.
  void place_refreshed() {
    const std::size_t most = 2 * version_.size() + 1024;
    const auto live = [this](const Entry& e) { return e.version == version_[e.account]; };
    constexpr std::size_t kAhead = 8;
    const std::size_t n = unplaced_.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (i + 2 * kAhead < n)
        side_of(unplaced_[i + 2 * kAhead]).prefetch_bucket(unplaced_[i + 2 * kAhead].e.bound);
      if (i + kAhead < n) side_of(unplaced_[i + kAhead]).prefetch_bucket_end(unplaced_[i + kAhead].e.bound);
      const Unplaced& u = unplaced_[i];
      side_of(u).push(u.e, u.value, most, live);
    }
    unplaced_.clear();
  }

  std::size_t entries() const {
    std::size_t n = 0;
    for (const Key& k : keys_) n += k.lower.size() + k.upper.size();
    return n;
  }

 private:
  static constexpr __int128 kUnbounded = (__int128(1) << 100);

  using Entry = BandSide::Entry;
  struct Key {
    BandSide lower{true};   // crossed when the value falls to a bound
    BandSide upper{false};  // crossed when the value rises to a bound
  };
  struct Unplaced {  // a bound refresh() computed, for place_refreshed()
    std::uint32_t key;
    bool lower;
    std::int64_t value;  // the key's value at the refresh
    Entry e;
  };
  BandSide& side_of(const Unplaced& u) { return u.lower ? keys_[u.key].lower : keys_[u.key].upper; }

  template <BandHost H>
  void pop_crossed(H& h, std::uint32_t k, std::int64_t value) {
    if (k >= keys_.size()) return;
    Key& key = keys_[k];
    const auto live = [this](const Entry& e) { return e.version == version_[e.account]; };
    // Taken out first, then looked at with the accounts a few steps ahead
    // asked for: at a million accounts each look is a cache miss.
    crossed_.clear();
    const auto crossed = [&](const Entry& e) { crossed_.push_back(e); };
    key.lower.take_crossed(value, live, crossed);
    key.upper.take_crossed(value, live, crossed);
    constexpr std::size_t kAhead = 8;
    for (std::size_t i = 0; i < crossed_.size(); ++i) {
      if (i + 2 * kAhead < crossed_.size()) __builtin_prefetch(&version_[crossed_[i + 2 * kAhead].account]);
      if (i + kAhead < crossed_.size() && live(crossed_[i + kAhead]))
        h.prefetch(crossed_[i + kAhead].account);
      if (live(crossed_[i])) h.add_candidate(crossed_[i].account);
    }
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
  std::vector<Entry> crossed_;      // scratch of pop_crossed
  std::vector<Unplaced> unplaced_;  // refreshed bounds not yet in their buckets
};

}  // namespace liqsim::engine
