//! Reproducible randomness and workload sizes.

/// Scales a workload's iteration count down under Miri, which runs code thousands of times
/// slower; natively it is returned unchanged.
pub const fn scaled(n: u64) -> u64 {
    if cfg!(miri) {
        n / 100 + 1
    } else {
        n
    }
}

/// A small seeded xorshift64* generator: reproducible workloads without extra dependencies.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator whose stream depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        // Mix the seed so that small consecutive seeds give unrelated streams; never zero.
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` for test workloads; `n` must be non-zero.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}
