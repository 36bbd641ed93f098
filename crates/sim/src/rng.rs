//! One seed, independent streams.
//!
//! Every random choice in a run comes from a ChaCha8 generator seeded with
//! the run's `u64` seed. Each part of the simulator reads its own ChaCha
//! stream of that seed, so removing a fault (say, while shrinking) changes
//! only the fault stream and leaves the network's and the workload's coin
//! flips exactly where they were.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The parts of a run that draw randomness, each from its own stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Swarm testing: the drawn configuration itself.
    Swarm = 1,
    /// Delays, drops and duplicates of every message.
    Network = 2,
    /// When and where random faults strike.
    Faults = 3,
    /// Timer jitter handed to the nodes.
    Nodes = 4,
    /// Disk write latencies, torn writes, corrupt records, read errors.
    Disk = 5,
    /// Client operations, keys, values and think times. Each client gets
    /// its own stream above this one, so a removed client shifts no other.
    Workload = 16,
}

/// The generator for `stream` of `seed`.
pub fn stream(seed: u64, stream: Stream) -> ChaCha8Rng {
    stream_at(seed, stream as u64)
}

/// The generator for client `client`'s workload.
pub fn client_stream(seed: u64, client: u32) -> ChaCha8Rng {
    stream_at(seed, Stream::Workload as u64 + u64::from(client))
}

fn stream_at(seed: u64, index: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    rng
}

/// A probability in parts per million, as the engine keeps them.
pub type Ppm = u32;
pub const PPM_ONE: Ppm = 1_000_000;

/// True with probability `ppm / 1e6`. Draws exactly one number whatever
/// `ppm` is, so setting a rate to zero does not shift the stream.
pub fn chance(rng: &mut ChaCha8Rng, ppm: Ppm) -> bool {
    use rand::RngExt;
    assert!(ppm <= PPM_ONE, "probability {ppm} ppm above one");
    rng.random_range(0..PPM_ONE) < ppm
}

/// Uniform in `min..=max`. Draws exactly one number.
pub fn between(rng: &mut ChaCha8Rng, min: u64, max: u64) -> u64 {
    use rand::RngExt;
    assert!(min <= max, "empty range {min}..={max}");
    rng.random_range(min..=max)
}
