#!/usr/bin/env python3
"""Writes a large, valid JSONL event log for throughput checks of `liqsim log`.

usage: tools/gen_big_log.py N OUT.jsonl [--accounts A] [--seed S]

Deterministic for a given seed: draws come from the project's SplitMix64
(include/liqsim/splitmix64.hpp, copied below), not Python's random. The mix: price ticks on three assets, deposits,
withdrawals, trades (some isolated, some with a counterparty), funding, depth
changes and the odd param change; ts non-decreasing in milliseconds.
"""
import argparse

MASK64 = (1 << 64) - 1


class SplitMix64:
    """include/liqsim/splitmix64.hpp in Python: the same seed gives the same stream."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform in [0, n) without bias (SplitMix64::below: Lemire's multiply-shift)."""
        threshold = ((1 << 64) - n) % n
        while True:
            m = self.next() * n
            if (m & MASK64) >= threshold:
                return m >> 64

    def randrange(self, lo: int, hi: int | None = None) -> int:
        if hi is None:
            lo, hi = 0, lo
        return lo + self.below(hi - lo)

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def random(self) -> float:
        """Uniform in [0, 1): the top 53 bits of one output."""
        return (self.next() >> 11) / float(1 << 53)

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--accounts", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = SplitMix64(args.seed)
    assets = {"BTC": 7950.0, "ETH": 195.0, "SOL": 20.0}
    ts = 1583971200000
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for i in range(args.n):
            ts += rng.choice((0, 0, 1, 5, 50))
            r = rng.random()
            acct = f"acct-{rng.randrange(args.accounts):06d}"
            asset = rng.choice(tuple(assets))
            if r < 0.40:
                assets[asset] = max(0.01, assets[asset] * (1 + rng.uniform(-0.002, 0.002)))
                f.write(f'{{"type":"price","ts":{ts},"asset":"{asset}","price":"{assets[asset]:.2f}"}}\n')
            elif r < 0.55:
                f.write(f'{{"type":"deposit","ts":{ts},"account":"{acct}","asset":"USD","amount":"{rng.randrange(1, 100000)}"}}\n')
            elif r < 0.60:
                f.write(f'{{"type":"withdraw","ts":{ts},"account":"{acct}","asset":"USD","amount":"{rng.randrange(1, 1000)}.5"}}\n')
            elif r < 0.95:
                side = rng.choice(("buy", "sell"))
                extra = ""
                k = rng.random()
                if k < 0.2:
                    extra = f',"margin":"isolated","isolated_margin":"{rng.randrange(10, 5000)}"'
                elif k < 0.4:
                    other = f"acct-{(int(acct[5:]) + 1) % args.accounts:06d}"
                    extra = f',"counterparty":"{other}"'
                f.write(f'{{"type":"trade","ts":{ts},"account":"{acct}","market":"{asset}-PERP","side":"{side}",'
                        f'"qty":"{rng.randrange(1, 10000) / 1000}","price":"{assets[asset]:.2f}"{extra}}}\n')
            elif r < 0.98:
                f.write(f'{{"type":"funding","ts":{ts},"market":"{asset}-PERP","rate":"{rng.uniform(-0.001, 0.001):.6f}"}}\n')
            elif r < 0.999:
                f.write(f'{{"type":"liquidity","ts":{ts},"market":"{asset}-PERP","depth":"{rng.randrange(100000, 100000000)}"}}\n')
            else:
                f.write(f'{{"type":"param","ts":{ts},"path":"markets.{asset}-PERP.maintenance_margin_ratio","value":"0.0{rng.randrange(1, 5)}"}}\n')


if __name__ == "__main__":
    main()
