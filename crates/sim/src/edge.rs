//! Values as people write them, in files and on the command line, and the
//! conversions to what the engine keeps.
//!
//! Probabilities are integer parts per million inside and floats in 0..=1
//! at the edge: [`probability`] is the one conversion, used by the serde
//! attributes of the configuration types (so a scenario's `drop: 0.05` is a
//! `drop_ppm: 50_000`).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_integer_ppm_round_trips_through_a_float() {
        for ppm in (0..=PPM_ONE).step_by(7).chain([1, 49_999, 50_000, PPM_ONE]) {
            assert_eq!(probability_to_ppm(ppm_to_probability(ppm)), Ok(ppm));
        }
        assert!(probability_to_ppm(1.5).is_err());
        assert!(probability_to_ppm(-0.1).is_err());
        assert!(probability_to_ppm(f64::NAN).is_err());
    }
}
