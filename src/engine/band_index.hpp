// band_index.hpp — which accounts a price change can affect.
//
// A price tick must not scan every account. This first index narrows a tick
// to the accounts exposed to the moved price: holders of a position in a
// market on that asset, and holders of that asset as collateral.
#pragma once

#include <cstdint>
#include <vector>

namespace liqsim::engine {

class BandIndex {
 public:
  void add_account() {}
  void invalidate(std::uint32_t) {}
  void invalidate_all() {}
  template <class E>
  void refresh(E&, std::uint32_t) {}

  template <class E>
  void collect_for_price(E& e, std::uint32_t asset, std::vector<std::uint32_t>&) {
    for (std::uint32_t m = 0; m < e.markets.size(); ++m)
      if (e.config.markets[m].underlying_index == asset)
        for (std::uint32_t acct : e.markets[m].holders) e.add_candidate(acct);
    for (std::uint32_t acct : e.assets[asset].holders) e.add_candidate(acct);
  }
  template <class E>
  void collect_for_mark(E& e, std::uint32_t market, std::vector<std::uint32_t>&) {
    for (std::uint32_t acct : e.markets[market].holders) e.add_candidate(acct);
  }
};

}  // namespace liqsim::engine
