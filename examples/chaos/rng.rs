//! The run's one source of chance (splitmix64): everything random in a run derives from its seed,
//! so `CHAOS_SEED=S` replays the nemesis's choices (the moments the system under test reacts at
//! still differ from run to run: a replay is a strong hint, not a guarantee).

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A duration between `low` and `high` seconds.
    pub fn secs(&mut self, low: u64, high: u64) -> std::time::Duration {
        std::time::Duration::from_millis(low * 1000 + self.below((high - low) * 1000 + 1))
    }

    /// `k` distinct numbers of `0..n`, in random order.
    pub fn pick(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k.min(n) {
            let j = i + self.below((n - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }
}
