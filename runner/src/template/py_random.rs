//! Python's `random.Random(seed)`: the Mersenne Twister seeded as CPython seeds it from a
//! string or an integer, and its `choice`. Ansible's `lookup('password', '... seed=S')` is
//! `random.Random(S).choice(chars)` repeated, so the same seed gives Ansible's password.

use rand_mt::Mt;
use sha2::Digest;

pub struct PyRandom(Mt);

impl PyRandom {
    /// `random.Random("text")` (seed version 2: the bytes followed by their SHA-512, read as
    /// one big-endian integer).
    pub fn from_text(seed: &str) -> PyRandom {
        let mut be = seed.as_bytes().to_vec();
        be.extend(sha2::Sha512::digest(seed.as_bytes()));
        PyRandom::from_be_bytes(&be)
    }

    /// `random.Random(n)`: seeded from the integer's absolute value.
    pub fn from_int(n: i64) -> PyRandom {
        PyRandom::from_be_bytes(&n.unsigned_abs().to_be_bytes())
    }

    /// An unpredictable generator (Python's SystemRandom where no seed is given).
    pub fn from_os() -> PyRandom {
        let key: Vec<u32> = (0..4).map(|_| rand::random::<u32>()).collect();
        PyRandom(Mt::new_with_key(key))
    }

    /// CPython's `random_seed`: the (non-negative) integer cut into 32-bit words from the least significant
    /// end, as many as its bits need (at least one), handed to `init_by_array`.
    fn from_be_bytes(be: &[u8]) -> PyRandom {
        let le: Vec<u8> = be.iter().rev().copied().collect();
        let mut words: Vec<u32> = le
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                u32::from_le_bytes(w)
            })
            .collect();
        while words.len() > 1 && words.last() == Some(&0) {
            words.pop();
        }
        if words.is_empty() {
            words.push(0);
        }
        PyRandom(Mt::new_with_key(words))
    }

    /// `getrandbits(k)` for 1 <= k <= 32.
    fn bits(&mut self, k: u32) -> u32 {
        self.0.next_u32() >> (32 - k)
    }

    /// `_randbelow(n)`: rejection sampling on `n.bit_length()` bits.
    pub fn below(&mut self, n: usize) -> usize {
        let k = usize::BITS - n.leading_zeros();
        loop {
            let r = self.bits(k) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `choice(seq)` for a non-empty slice.
    pub fn choice<T: Copy>(&mut self, seq: &[T]) -> T {
        seq[self.below(seq.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::PyRandom;

    fn pick(r: &mut PyRandom, n: usize) -> Vec<usize> {
        let seq: Vec<usize> = (0..n).collect();
        (0..8).map(|_| r.choice(&seq)).collect()
    }

    // Expected values printed by CPython 3.11:
    //   r = random.Random(X); [r.choice(range(N)) for _ in range(8)]
    #[test]
    fn matches_cpython_for_text_seeds() {
        assert_eq!(
            pick(&mut PyRandom::from_text("timonel"), 62),
            vec![4, 44, 19, 36, 54, 16, 34, 44]
        );
        assert_eq!(
            pick(&mut PyRandom::from_text("42"), 10),
            vec![7, 7, 4, 1, 0, 1, 9, 7]
        );
        assert_eq!(
            pick(&mut PyRandom::from_text(""), 3),
            vec![1, 2, 0, 1, 2, 0, 1, 2]
        );
    }
}
