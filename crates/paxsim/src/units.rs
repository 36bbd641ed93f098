//! Values people type on the command line, parsed at the edge: a
//! probability flag, durations, shards, delay ranges, seeds. Inside,
//! probabilities are integer ppm (`sim::edge` converts them).

use std::time::Duration;

pub use sim::edge::probability_to_ppm;

/// `clap` parser for a probability flag.
pub fn parse_probability(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number, expected a probability in 0..=1"))?;
    probability_to_ppm(value)?;
    Ok(value)
}

/// `30s`, `5m`, `1h`, `250ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let explain = || {
        format!(
            "invalid duration `{text}`, expected a whole number and a unit: ms, s, m or h (e.g. 30s, 5m, 1h)"
        )
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(explain)?;
    let (digits, unit) = text.split_at(split);
    let amount: u64 = digits.parse().map_err(|_| explain())?;
    let seconds_per_unit = match unit {
        "ms" => return Ok(Duration::from_millis(amount)),
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        _ => return Err(explain()),
    };
    let seconds = amount.checked_mul(seconds_per_unit).ok_or_else(explain)?;
    Ok(Duration::from_secs(seconds))
}

/// Run only seed indices `i` with `i % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `K/N` with `K < N`.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let explain = || format!("invalid shard `{text}`, expected K/N with 0 <= K < N (e.g. 0/4)");
    let (index, count) = text.split_once('/').ok_or_else(explain)?;
    let index: u64 = index.trim().parse().map_err(|_| explain())?;
    let count: u64 = count.trim().parse().map_err(|_| explain())?;
    if count == 0 {
        return Err(format!(
            "invalid shard `{text}`: N is 0, expected at least 1"
        ));
    }
    if index >= count {
        return Err(format!(
            "invalid shard `{text}`: K ({index}) must be below N ({count}); shards are 0/{count} .. {}/{count}",
            count - 1
        ));
    }
    Ok(Shard { index, count })
}

/// `--shard`: a fixed shard, or `auto` to read it from the CI environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    Auto,
}

/// `K/N` with `K < N`, or `auto`.
pub fn parse_shard_arg(text: &str) -> Result<ShardArg, String> {
    if text == "auto" {
        return Ok(ShardArg::Auto);
    }
    parse_shard(text)
        .map(ShardArg::Fixed)
        .map_err(|error| format!("{error}, or `auto` to read it from the CI environment"))
}

/// A network delay range `MIN..MAX`, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayRange {
    pub min_us: u64,
    pub max_us: u64,
}

pub fn parse_delay_range(text: &str) -> Result<DelayRange, String> {
    let explain = || {
        format!("invalid delay range `{text}`, expected MIN..MAX in microseconds (e.g. 100..5000)")
    };
    let (min, max) = text.split_once("..").ok_or_else(explain)?;
    let min_us: u64 = min.trim().parse().map_err(|_| explain())?;
    let max_us: u64 = max.trim().parse().map_err(|_| explain())?;
    if min_us > max_us {
        return Err(format!("invalid delay range `{text}`: MIN is above MAX"));
    }
    Ok(DelayRange { min_us, max_us })
}

/// Where a campaign's seeds start: a number, or drawn from the OS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedStart {
    Fixed(u64),
    Random,
}

pub fn parse_seed_start(text: &str) -> Result<SeedStart, String> {
    if text == "random" {
        return Ok(SeedStart::Random);
    }
    text.parse().map(SeedStart::Fixed).map_err(|error| {
        format!(
            "invalid seed `{text}` ({error}), expected a number in 0..={} or `random`",
            u64::MAX
        )
    })
}

/// A worker count of at least one.
pub fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("0 jobs would run nothing, expected at least 1".into()),
        Ok(jobs) => Ok(jobs),
        Err(_) => Err(format!(
            "`{text}` is not a number of jobs, expected 1 or more"
        )),
    }
}

/// The only source of OS randomness in the project: a random campaign start,
/// so that unattended campaigns explore new seeds. It is printed, so any
/// failure it finds is replayable like every other.
pub fn os_random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_shards_and_ranges_parse_or_explain() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3_600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5parsecs").unwrap_err().contains("5parsecs"));
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("30").is_err());
        assert_eq!(parse_shard("1/2"), Ok(Shard { index: 1, count: 2 }));
        assert!(parse_shard("3/2").is_err());
        assert!(parse_shard("0/0").is_err());
        assert_eq!(parse_shard_arg("auto"), Ok(ShardArg::Auto));
        assert_eq!(
            parse_shard_arg("1/2"),
            Ok(ShardArg::Fixed(Shard { index: 1, count: 2 }))
        );
        assert!(parse_shard_arg("Auto").unwrap_err().contains("auto"));
        assert_eq!(
            parse_delay_range("10..20"),
            Ok(DelayRange {
                min_us: 10,
                max_us: 20
            })
        );
        assert!(parse_delay_range("20..10").is_err());
        assert_eq!(parse_seed_start("7"), Ok(SeedStart::Fixed(7)));
        assert!(parse_seed_start("18446744073709551616").is_err());
        assert!(parse_jobs("0").is_err());
    }
}
