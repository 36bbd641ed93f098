//! `paxsim export`: write one seed's drawn configuration as a scenario
//! file, so it can be read, edited and kept.

use std::process::ExitCode;

use crate::atomic;
use crate::cli::ExportArgs;
use crate::error::InputError;
use crate::outcome::{self, Expect};
use crate::scenario::Scenario;

pub fn command(args: ExportArgs) -> Result<ExitCode, InputError> {
    let config = args
        .config
        .pins
        .draw_checked(args.seed)
        .map_err(|error| InputError(format!("configuration flags: {error}")))?;
    if sim::admission::refusal_expected(&config) {
        return Err(InputError(format!(
            "seed {} asks for quorums that need not intersect, which validation refuses (its \
             expected outcome): there is no run to export",
            args.seed
        )));
    }
    let expect = match &args.expect {
        Some(name) => {
            Expect::from_name(name).map_err(|error| InputError(format!("--expect: {error}")))?
        }
        None => Expect(outcome::run(&config, false).actual()),
    };
    let name = args.name.clone().unwrap_or_else(|| {
        args.out
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("seed-{}", args.seed))
    });
    let scenario = Scenario::from_config(&name, &args.description, &config, expect);
    assert_eq!(
        scenario.to_config().as_ref(),
        Ok(&config),
        "scenarios round-trip"
    );
    let mut text = serde_json::to_string_pretty(&scenario).expect("a scenario always serializes");
    text.push('\n');
    atomic::write(&args.out, text.as_bytes()).map_err(InputError)?;
    println!("wrote {} (expect {})", args.out.display(), expect.0);
    Ok(ExitCode::SUCCESS)
}
