//! The explorer's hashers: a 128-bit fingerprint of a state, and the
//! pass-through hasher of the visited set, whose keys are fingerprints
//! already.
//!
//! [`Fingerprinter`] runs two independent 64-bit lanes, each a folded
//! multiply (the 128-bit product's halves XOR-ed) with its own constants,
//! and mixes them at the end. It is fast and deterministic (no seed, no
//! address), not cryptographic: two different states collide with a chance
//! near 2^-128 only if the lanes behave like random functions, which is
//! what the search assumes. A collision would merge two states and could
//! hide a violation reachable only from the second one; it can never
//! invent a violation.

use std::hash::{BuildHasherDefault, Hasher};

const LANE_A: u64 = 0x9e37_79b9_7f4a_7c15;
const LANE_B: u64 = 0xc2b2_ae3d_27d4_eb4f;
const SEED_A: u64 = 0x243f_6a88_85a3_08d3;
const SEED_B: u64 = 0x1319_8a2e_0370_7344;
const FINAL_A: u64 = 0xa076_1d64_78bd_642f;
const FINAL_B: u64 = 0xe703_7ed1_a0b4_28db;

fn folded_multiply(x: u64, k: u64) -> u64 {
    let product = u128::from(x) * u128::from(k);
    (product as u64) ^ ((product >> 64) as u64)
}

/// A 128-bit fingerprint under construction.
#[derive(Clone, Debug)]
pub(crate) struct Fingerprinter {
    a: u64,
    b: u64,
    words: u64,
}

impl Default for Fingerprinter {
    fn default() -> Fingerprinter {
        Fingerprinter {
            a: SEED_A,
            b: SEED_B,
            words: 0,
        }
    }
}

impl Fingerprinter {
    fn word(&mut self, x: u64) {
        self.a = folded_multiply(self.a ^ x, LANE_A);
        self.b = folded_multiply(self.b ^ x.rotate_left(32) ^ self.words, LANE_B);
        self.words += 1;
    }

    pub(crate) fn write_u128(&mut self, x: u128) {
        self.word(x as u64);
        self.word((x >> 64) as u64);
    }

    /// The fingerprint of everything written so far.
    pub(crate) fn finish128(&self) -> u128 {
        let a = folded_multiply(self.a ^ self.words, FINAL_A);
        let b = folded_multiply(self.b ^ a, FINAL_B);
        let a = folded_multiply(a ^ b.rotate_left(17), LANE_B);
        (u128::from(a) << 64) | u128::from(b)
    }
}

/// The fingerprint of whatever `feed` writes.
pub(crate) fn fingerprint_of(feed: impl FnOnce(&mut Fingerprinter)) -> u128 {
    let mut hasher = Fingerprinter::default();
    feed(&mut hasher);
    hasher.finish128()
}

impl Hasher for Fingerprinter {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            // The length in the top byte keeps "a" apart from "a\0".
            last[7] ^= rest.len() as u8;
            self.word(u64::from_le_bytes(last));
        }
    }

    fn write_u8(&mut self, x: u8) {
        self.word(u64::from(x));
    }

    fn write_u16(&mut self, x: u16) {
        self.word(u64::from(x));
    }

    fn write_u32(&mut self, x: u32) {
        self.word(u64::from(x));
    }

    fn write_u64(&mut self, x: u64) {
        self.word(x);
    }

    fn write_usize(&mut self, x: usize) {
        self.word(x as u64);
    }

    fn finish(&self) -> u64 {
        self.finish128() as u64
    }
}

/// The visited set's hasher: a fingerprint is well mixed already, so its
/// two halves folded together are the hash.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn write(&mut self, _bytes: &[u8]) {
        unreachable!("the visited set hashes u128 fingerprints only");
    }

    fn write_u128(&mut self, x: u128) {
        self.0 = (x as u64) ^ ((x >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type Visited = std::collections::HashSet<u128, BuildHasherDefault<PassThrough>>;
