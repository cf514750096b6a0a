// ledger.hpp — where value is held, and the one way it moves (not a public header).
//
// Every unit of every asset is in exactly one named ledger:
//   - an account's balance of the asset (held in the account's state),
//   - an isolated position's wallet (USD, held in the position's slot),
//   - the outside world, per asset: deposits come from it; withdrawals,
//     realized PnL, funding and liquidation fills are settled against it,
//   - the insurance fund (USD),
//   - the bad-debt ledger (USD): owed while a bankruptcy's deficit is being
//     covered, zero between events,
//   - the socialized-loss ledger (USD): what nobody covered.
// The only operation is transfer(from, to, amount): `from` loses exactly what
// `to` gains, so the sum over the ledgers of an asset stays zero from the
// start; check() recomputes it from the state. The venue's ledgers live
// here; an account's live in its state and are named by a Place on their cell.
#pragma once

#include <cstdint>
#include <vector>

#include "liqsim/error.hpp"
#include "liqsim/fixed.hpp"

namespace liqsim::engine {

class Ledger {
 public:
  // A named ledger: a cell holding an amount of one asset. A Place on an
  // account's balance is valid until that account's next new balance slot.
  class Place {
   public:
    std::uint32_t asset() const { return asset_; }

   private:
    friend class Ledger;
    enum class Kind : std::uint8_t { amount, usd, amount_sum, usd_sum };
    Place(Kind k, std::uint32_t asset, void* cell) : kind_(k), asset_(asset), cell_(cell) {}
    Kind kind_;
    std::uint32_t asset_;
    void* cell_;
  };

  explicit Ledger(std::size_t assets) : external_(assets) {}

  // An account's balance of `asset` (the cell in the account's state).
  static Place balance(Amount& cell, std::uint32_t asset) { return Place(Place::Kind::amount, asset, &cell); }
  // An isolated position's wallet (USD).
  static Place wallet(Usd& cell) { return Place(Place::Kind::usd, 0, &cell); }
  Place external(std::uint32_t asset) { return Place(Place::Kind::amount_sum, asset, &external_[asset]); }
  Place insurance() { return Place(Place::Kind::usd, 0, &insurance_); }
  Place bad_debt() { return Place(Place::Kind::usd_sum, 0, &bad_debt_); }
  Place socialized() { return Place(Place::Kind::usd_sum, 0, &socialized_); }

  // Moves `amount` (signed: a negative amount moves the other way) of the
  // places' asset from `from` to `to`. A result outside the range throws
  // OverflowError (the engine then refuses every later event).
  void transfer(Place from, Place to, Amount amount) {
    LIQSIM_ASSERT(from.asset_ == to.asset_, "a transfer between ledgers of different assets");
    take(from, amount);
    give(to, amount);
  }
  void transfer(Place from, Place to, Usd amount) { transfer(from, to, same_units<Amount>(amount)); }

  Usd insurance_balance() const { return insurance_; }
  UsdSum bad_debt_balance() const { return bad_debt_; }
  UsdSum socialized_balance() const { return socialized_; }
  AmountSum external_balance(std::uint32_t asset) const { return external_[asset]; }

  // The zero-sum check: `held[i]` is what the accounts hold of asset i
  // (balances, and for USD the isolated wallets). Every asset's ledgers must
  // sum to zero, and the bad-debt ledger must be empty between events. The
  // Error names the asset (through `asset_name`) and the event `seq`.
  template <class NameOf>
  Status check(const std::vector<__int128>& held, NameOf asset_name, std::int64_t seq) const {
    for (std::size_t i = 0; i < external_.size(); ++i) {
      __int128 sum = held[i] + external_[i].raw();
      if (i == 0) sum += __int128(insurance_.raw()) + bad_debt_.raw() + socialized_.raw();
      if (sum != 0) {
        Error e = make_error(ErrorKind::input, "ledger for " + asset_name(i) + " sums to " +
                                                   format_decimal_wide(sum) + ", not zero");
        e.seq = seq;
        return e;
      }
    }
    if (!bad_debt_.is_zero()) {
      Error e =
          make_error(ErrorKind::input, "bad debt ledger left at " + bad_debt_.str() + " after the event");
      e.seq = seq;
      return e;
    }
    return {};
  }

 private:
  // The cell's own checked arithmetic: an overflow names the operation as
  // the engine's arithmetic always has ("subtract", "add", "running total").
  static void take(Place p, Amount a) {
    switch (p.kind_) {
      case Place::Kind::amount:
        *static_cast<Amount*>(p.cell_) -= a;
        return;
      case Place::Kind::usd:
        *static_cast<Usd*>(p.cell_) -= same_units<Usd>(a);
        return;
      case Place::Kind::amount_sum:
        *static_cast<AmountSum*>(p.cell_) -= a;
        return;
      case Place::Kind::usd_sum:
        *static_cast<UsdSum*>(p.cell_) -= same_units<Usd>(a);
        return;
    }
  }
  static void give(Place p, Amount a) {
    switch (p.kind_) {
      case Place::Kind::amount:
        *static_cast<Amount*>(p.cell_) += a;
        return;
      case Place::Kind::usd:
        *static_cast<Usd*>(p.cell_) += same_units<Usd>(a);
        return;
      case Place::Kind::amount_sum:
        *static_cast<AmountSum*>(p.cell_) += a;
        return;
      case Place::Kind::usd_sum:
        *static_cast<UsdSum*>(p.cell_) += same_units<Usd>(a);
        return;
    }
  }

  std::vector<AmountSum> external_;  // per asset (128-bit: it mirrors everyone)
  Usd insurance_;
  UsdSum bad_debt_;
  UsdSum socialized_;
};

}  // namespace liqsim::engine
