//! The configuration flags of `fuzz`, `replay`, `shrink` and `export`,
//! built from the simulator's knob table (`sim::KNOBS`), and the flags that
//! pin a `sim::Pins` again, printed in the replay and shrink commands of a
//! failure.
//!
//! Each knob is one flag: its name with `-` for `_` (`--delay-us-min`),
//! its help line, and a parser that checks the value and names the knob.
//! Nothing here names a knob but the shorthand `--delay-us MIN..MAX`, which
//! pins two; `--flaw NAME` (repeatable) switches on flaws.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};

use paxos::Flaw;
use sim::{KNOBS, Knob, Pins};

use crate::units::{DelayRange, parse_delay_range};

const HEADING: &str = "Configuration";

/// Two knobs with one flag for both: `--delay-us 100..5000`.
struct RangeFlag {
    flag: &'static str,
    min: &'static str,
    max: &'static str,
}

const DELAY: RangeFlag = RangeFlag {
    flag: "delay-us",
    min: "delay_us_min",
    max: "delay_us_max",
};

const FLAW: &str = "flaw";

/// Pins and flaws from the command line, flattened into each subcommand
/// that draws a configuration from a seed.
#[derive(Clone, Debug, Default)]
pub struct ConfigArgs {
    pub pins: Pins,
}

fn flag(knob: &Knob) -> String {
    knob.name.replace('_', "-")
}

fn knob(name: &str) -> &'static Knob {
    KNOBS
        .iter()
        .find(|knob| knob.name == name)
        .unwrap_or_else(|| panic!("`{name}` is in sim::KNOBS"))
}

impl Args for ConfigArgs {
    fn augment_args(mut command: Command) -> Command {
        for knob in KNOBS {
            if knob.name == DELAY.min {
                command = command.arg(delay_range_arg());
            }
            command = command.arg(knob_arg(knob));
        }
        command.arg(flaw_arg())
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}

impl FromArgMatches for ConfigArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<ConfigArgs, clap::Error> {
        let mut args = ConfigArgs::default();
        args.update_from_arg_matches(matches)?;
        Ok(args)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        let pins = &mut self.pins;
        let pin = |pins: &mut Pins, knob: &Knob, text: &str| {
            (knob.pin)(pins, text)
                .map_err(|error| clap::Error::raw(ErrorKind::ValueValidation, error))
        };
        for knob in KNOBS {
            let text = if knob.is_switch {
                matches.get_flag(knob.name).then(|| true.to_string())
            } else {
                matches.get_one::<String>(knob.name).cloned()
            };
            if let Some(text) = text {
                pin(pins, knob, &text)?;
            }
        }
        if let Some(range) = matches.get_one::<DelayRange>(DELAY.flag) {
            pin(pins, knob(DELAY.min), &range.min_us.to_string())?;
            pin(pins, knob(DELAY.max), &range.max_us.to_string())?;
        }
        for flaw in matches.get_many::<Flaw>(FLAW).into_iter().flatten() {
            pins.flaws = pins.flaws.with(*flaw);
        }
        Ok(())
    }
}

/// A knob's flag. Its parser checks the value now, so that clap reports a
/// bad one with the flag's name and exit code 2.
fn knob_arg(knob: &'static Knob) -> Arg {
    let arg = Arg::new(knob.name)
        .long(flag(knob))
        .help(knob.help.trim())
        .help_heading(HEADING);
    if knob.is_switch {
        return arg.action(ArgAction::SetTrue);
    }
    // `--drop -0.1` is a value to reject for what it is, not a flag.
    let arg = arg.value_name(knob.value_name).allow_negative_numbers(true);
    let choices = (knob.choices)();
    if choices.is_empty() {
        arg.value_parser(move |text: &str| {
            (knob.pin)(&mut Pins::default(), text).map(|()| text.to_string())
        })
    } else {
        // clap lists the choices in `--help` and in its error for a wrong one.
        arg.value_parser(PossibleValuesParser::new(choices))
    }
}

fn delay_range_arg() -> Arg {
    Arg::new(DELAY.flag)
        .long(DELAY.flag)
        .value_name("MIN..MAX")
        .help("Network delay range in microseconds.")
        .value_parser(parse_delay_range)
        .allow_negative_numbers(true)
        .conflicts_with_all([DELAY.min, DELAY.max])
        .help_heading(HEADING)
}

fn flaw_arg() -> Arg {
    let names: Vec<&'static str> = Flaw::ALL.iter().map(|flaw| flaw.name()).collect();
    Arg::new(FLAW)
        .long(FLAW)
        .value_name("NAME")
        .help("Turn on a deliberate flaw (repeatable).")
        .action(ArgAction::Append)
        .value_parser(
            PossibleValuesParser::new(names)
                .map(|name| Flaw::from_name(&name).expect("clap admits only known flaws")),
        )
        .help_heading(HEADING)
}

/// The command-line flags that give these pins and flaws, in a fixed order:
/// the knobs with a value in table order (both delays as one `--delay-us`),
/// then the flaws, then the switches.
pub fn to_flags(pins: &Pins) -> Vec<String> {
    let mut flags = Vec::new();
    let delays = ((knob(DELAY.min).shown)(pins), (knob(DELAY.max).shown)(pins));
    for knob in KNOBS.iter().filter(|knob| !knob.is_switch) {
        let Some(value) = (knob.shown)(pins) else {
            continue;
        };
        match &delays {
            (Some(min), Some(max)) if knob.name == DELAY.min => {
                flags.push(format!("--{}", DELAY.flag));
                flags.push(format!("{min}..{max}"));
            }
            (Some(_), Some(_)) if knob.name == DELAY.max => {}
            _ => {
                flags.push(format!("--{}", flag(knob)));
                flags.push(value);
            }
        }
    }
    for flaw in pins.flaws.iter() {
        flags.push(format!("--{FLAW}"));
        flags.push(flaw.name().to_string());
    }
    for knob in KNOBS.iter().filter(|knob| knob.is_switch) {
        if (knob.shown)(pins).is_some() {
            flags.push(format!("--{}", flag(knob)));
        }
    }
    flags
}

/// A short description: `--nodes 3 --drop 0.1 --flaw no-client-dedup`, or `none`.
pub fn describe(pins: &Pins) -> String {
    let flags = to_flags(pins);
    if flags.is_empty() {
        "none".into()
    } else {
        flags.join(" ")
    }
}

/// The pinned knobs as the JSON object a corpus file holds.
pub fn to_json(pins: &Pins) -> serde_json::Value {
    sim::knobs::object::serialize(pins, serde_json::value::Serializer)
        .expect("pins always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use paxos::Flaws;

    fn parse(flags: &[String]) -> Result<Pins, clap::Error> {
        let command = ConfigArgs::augment_args(Command::new("test"));
        let words = std::iter::once("test".to_string()).chain(flags.iter().cloned());
        let matches = command.try_get_matches_from(words)?;
        ConfigArgs::from_arg_matches(&matches).map(|args| args.pins)
    }

    #[test]
    fn flags_name_every_pin() {
        let pins = Pins {
            nodes: Some(5),
            drop_ppm: Some(50_000),
            delay_us_min: Some(10),
            delay_us_max: Some(20),
            allow_unsafe_quorums: Some(true),
            flaws: Flaws::NONE
                .with(Flaw::NoClientDedup)
                .with(Flaw::PromiseNotPersisted),
            ..Pins::default()
        };
        assert_eq!(
            to_flags(&pins).join(" "),
            "--nodes 5 --drop 0.05 --delay-us 10..20 --flaw promise-not-persisted \
             --flaw no-client-dedup --allow-unsafe-quorums"
        );
        assert_eq!(parse(&to_flags(&pins)).unwrap(), pins);
    }

    #[test]
    fn every_knob_pinned_parses_back_from_its_flags() {
        let mut pins = Pins::default();
        for knob in KNOBS {
            (knob.pin_sample)(&mut pins);
        }
        pins.flaws = pins.flaws.with(Flaw::SkipGapFill);
        let flags = to_flags(&pins);
        assert_eq!(parse(&flags).unwrap(), pins, "{flags:?}");
        pins.delay_us_max = None;
        assert_eq!(parse(&to_flags(&pins)).unwrap(), pins);
        assert_eq!(describe(&Pins::default()), "none");
    }

    #[test]
    fn a_bad_value_names_the_flag() {
        let error = parse(&["--clients".into(), "0".into()]).unwrap_err();
        assert!(error.to_string().contains("--clients"), "{error}");
        let error = parse(&["--mode".into(), "lazy".into()]).unwrap_err();
        assert!(error.to_string().contains("leaderless"), "{error}");
        let both = ["--delay-us", "1..2", "--delay-us-min", "1"].map(String::from);
        assert!(parse(&both).is_err());
    }
}
