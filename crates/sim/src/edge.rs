//! Values as people write them, in files and on the command line, and the
//! conversions to what the engine keeps.
//!
//! Probabilities are integer parts per million inside and floats in 0..=1
//! at the edge: [`probability`] is the one conversion, used by the serde
//! attributes of the configuration types (so a scenario's `drop: 0.05` is a
//! `drop_ppm: 50_000`) and by the knob kinds. A [`Kind`] says how one
//! knob's value is typed, written to a file, and shown again; the knob
//! table in `knobs` names one kind per knob.

use serde::Serialize;
use serde::de::DeserializeOwned;

use paxos::Mode;

use crate::rng::{PPM_ONE, Ppm};

/// A probability typed as a float in `0..=1`, as integer parts per million.
pub fn probability_to_ppm(probability: f64) -> Result<Ppm, String> {
    if !probability.is_finite() || !(0.0..=1.0).contains(&probability) {
        return Err(format!(
            "probability {probability} is out of range, expected a number in 0..=1 (e.g. 0.05)"
        ));
    }
    let ppm = (probability * f64::from(PPM_ONE)).round() as Ppm;
    assert!(ppm <= PPM_ONE);
    Ok(ppm)
}

/// The float people read for a ppm; `probability_to_ppm` gives the ppm back exactly.
pub fn ppm_to_probability(ppm: Ppm) -> f64 {
    assert!(ppm <= PPM_ONE, "{ppm} ppm is above one");
    f64::from(ppm) / f64::from(PPM_ONE)
}

/// `#[serde(with = "crate::edge::probability")]`: a ppm field read and
/// written as a float in 0..=1.
pub mod probability {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::rng::Ppm;

    pub fn serialize<S: Serializer>(ppm: &Ppm, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(super::ppm_to_probability(*ppm))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Ppm, D::Error> {
        let probability = f64::deserialize(deserializer)?;
        super::probability_to_ppm(probability).map_err(serde::de::Error::custom)
    }
}

/// How one knob's value of type `T` is typed on the command line, written
/// in a corpus file, and shown again. Implemented by the marker types below;
/// the knob table names one per knob.
pub trait Kind<T> {
    /// What the value is called in help text: `N`, `US`, `P`, `MODE`.
    const VALUE_NAME: &'static str;
    /// A switch takes no value on the command line: present means on.
    const IS_SWITCH: bool = false;
    /// The value as a file holds it (a JSON number, a float, a name).
    type Edge: Serialize + DeserializeOwned;

    fn to_edge(value: T) -> Self::Edge;
    fn from_edge(edge: Self::Edge) -> Result<T, String>;
    /// The value from the text a person typed.
    fn parse(text: &str) -> Result<T, String>;
    /// The text that [`Kind::parse`] reads back as `value`, or `None` when
    /// the value needs no pin (a switch left off).
    fn shown(value: T) -> Option<String>;
    /// The values it may take, when they are few enough to list.
    fn choices() -> Vec<&'static str> {
        Vec::new()
    }
    /// Some valid value, for tests that pin every knob.
    fn sample() -> T;
}

/// A whole number; in microseconds when `MICROS` (a time or a duration).
pub struct Whole<const MICROS: bool>;

/// A count (`N`).
pub type Count = Whole<false>;

/// A time or a duration in microseconds (`US`).
pub type Micros = Whole<true>;

/// A probability: a float in 0..=1 at the edge, ppm inside (`P`).
pub struct Probability;

/// One of a few names (`MODE`).
pub struct Choice;

/// On when present; off is the same as not pinned.
pub struct Switch;

impl<T, const MICROS: bool> Kind<T> for Whole<MICROS>
where
    T: Copy + Into<u64> + TryFrom<u64> + From<u8>,
{
    const VALUE_NAME: &'static str = if MICROS { "US" } else { "N" };
    type Edge = u64;

    fn to_edge(value: T) -> u64 {
        value.into()
    }

    fn from_edge(edge: u64) -> Result<T, String> {
        T::try_from(edge).map_err(|_| format!("{edge} is too large"))
    }

    fn parse(text: &str) -> Result<T, String> {
        let whole: u64 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a whole number"))?;
        Self::from_edge(whole)
    }

    fn shown(value: T) -> Option<String> {
        Some(value.into().to_string())
    }

    fn sample() -> T {
        T::from(1)
    }
}

impl Kind<Ppm> for Probability {
    const VALUE_NAME: &'static str = "P";
    type Edge = f64;

    fn to_edge(ppm: Ppm) -> f64 {
        ppm_to_probability(ppm)
    }

    fn from_edge(probability: f64) -> Result<Ppm, String> {
        probability_to_ppm(probability)
    }

    fn parse(text: &str) -> Result<Ppm, String> {
        let probability: f64 = text
            .parse()
            .map_err(|_| format!("`{text}` is not a number, expected a probability in 0..=1"))?;
        probability_to_ppm(probability)
    }

    fn shown(ppm: Ppm) -> Option<String> {
        Some(ppm_to_probability(ppm).to_string())
    }

    fn sample() -> Ppm {
        50_000
    }
}

impl Kind<Mode> for Choice {
    const VALUE_NAME: &'static str = "MODE";
    type Edge = Mode;

    fn to_edge(mode: Mode) -> Mode {
        mode
    }

    fn from_edge(mode: Mode) -> Result<Mode, String> {
        Ok(mode)
    }

    fn parse(text: &str) -> Result<Mode, String> {
        Mode::from_name(text).ok_or_else(|| {
            format!(
                "unknown mode `{text}`, expected one of: {}",
                Mode::ALL.map(Mode::name).join(", ")
            )
        })
    }

    fn shown(mode: Mode) -> Option<String> {
        Some(mode.name().to_string())
    }

    fn choices() -> Vec<&'static str> {
        Mode::ALL.map(Mode::name).to_vec()
    }

    fn sample() -> Mode {
        Mode::Leaderless
    }
}

impl Kind<bool> for Switch {
    const VALUE_NAME: &'static str = "";
    const IS_SWITCH: bool = true;
    type Edge = bool;

    fn to_edge(on: bool) -> bool {
        on
    }

    fn from_edge(on: bool) -> Result<bool, String> {
        Ok(on)
    }

    fn parse(text: &str) -> Result<bool, String> {
        text.parse()
            .map_err(|_| format!("`{text}` is not a switch, expected true or false"))
    }

    fn shown(on: bool) -> Option<String> {
        on.then(|| true.to_string())
    }

    fn sample() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_integer_ppm_round_trips_through_a_float() {
        for ppm in (0..=PPM_ONE).step_by(7).chain([1, 49_999, 50_000, PPM_ONE]) {
            assert_eq!(probability_to_ppm(ppm_to_probability(ppm)), Ok(ppm));
            let shown = <Probability as Kind<Ppm>>::shown(ppm).unwrap();
            assert_eq!(<Probability as Kind<Ppm>>::parse(&shown), Ok(ppm));
        }
        assert!(probability_to_ppm(1.5).is_err());
        assert!(probability_to_ppm(-0.1).is_err());
        assert!(probability_to_ppm(f64::NAN).is_err());
    }

    #[test]
    fn counts_refuse_what_does_not_fit() {
        assert_eq!(<Count as Kind<u8>>::parse("255"), Ok(255));
        assert!(
            <Count as Kind<u8>>::parse("256")
                .unwrap_err()
                .contains("too large")
        );
        assert!(<Count as Kind<u32>>::parse("-1").is_err());
        assert!(
            <Choice as Kind<Mode>>::parse("lazy")
                .unwrap_err()
                .contains("leaderless")
        );
        assert_eq!(<Switch as Kind<bool>>::shown(false), None);
    }
}
