//! `paxsim`: the command line of the Paxos deterministic simulation harness.
//!
//! Only this crate touches the terminal, files, threads, wall time and OS
//! randomness; the simulator it drives does none of these.

mod atomic;
mod bench;
mod campaign;
mod cli;
mod corpus;
mod error;
mod explore;
mod export;
mod fuzz;
mod guarded;
mod html;
mod input;
mod interrupt;
mod junit;
mod merge;
mod outcome;
mod pages;
mod pins;
mod progress;
mod replay;
mod scenario;
mod shard;
mod shrink;
mod suite;
mod summary;
mod summary_file;
mod units;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    interrupt::default_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fuzz(args) => fuzz::command(args),
        Command::Replay(args) => replay::command(args),
        Command::Run(args) => suite::command(args),
        Command::Merge(args) => merge::command(args),
        Command::Shrink(args) => shrink::command(args),
        Command::Export(args) => export::command(args),
        Command::Bench(args) => bench::command(args),
        Command::Explore(args) => explore::command(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
