//! The README's runnable blocks work when pasted: every `sh` block with
//! the line `<!-- runnable -->` just before it runs, command line by
//! command line, in a scratch directory holding a copy of `scenarios/` and
//! `seeds/`, with the built `paxsim` first on `PATH`. Each command must
//! exit 0, or the code its trailing comment declares (`# exits 1: ...`).

mod ci;
mod common;

use std::path::Path;
use std::process::Command;

use common::{scratch_dir, workspace_root};

const MARKER: &str = "<!-- runnable -->";

/// One command line of a block: the README line it starts on, the
/// command, and the exit code it must give.
struct Line {
    number: usize,
    command: String,
    exit: i32,
}

/// The runnable blocks of `readme`, each as its command lines.
fn runnable_blocks(readme: &str) -> Vec<Vec<Line>> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        if lines[at].trim() != MARKER {
            at += 1;
            continue;
        }
        let fence = at + 1;
        assert_eq!(
            lines.get(fence).map(|line| line.trim()),
            Some("```sh"),
            "README.md:{}: {MARKER} must stand just before a ```sh block",
            at + 1
        );
        let mut block = Vec::new();
        let mut pending: Option<Line> = None;
        at = fence + 1;
        while lines.get(at).is_some_and(|line| line.trim() != "```") {
            let text = lines[at];
            at += 1;
            let line = match pending.take() {
                Some(mut open) => {
                    open.command.push('\n');
                    open.command.push_str(text);
                    open
                }
                None if text.trim().is_empty() || text.trim_start().starts_with('#') => continue,
                None => Line {
                    number: at,
                    command: text.to_string(),
                    exit: 0,
                },
            };
            if line.command.ends_with('\\') {
                pending = Some(line);
            } else {
                block.push(Line {
                    exit: declared_exit(&line.command),
                    ..line
                });
            }
        }
        assert!(at < lines.len(), "README.md: an unclosed runnable block");
        assert!(
            pending.is_none(),
            "README.md:{at}: a continued line ends the block"
        );
        assert!(
            !block.is_empty(),
            "README.md:{fence}: an empty runnable block"
        );
        blocks.push(block);
    }
    blocks
}

/// `# exits N` in a command's trailing comment, or 0.
fn declared_exit(command: &str) -> i32 {
    let Some((_, after)) = command.split_once("# exits ") else {
        return 0;
    };
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("`# exits` is followed by a number")
}

/// The block as a bash script that stops at the first command whose exit
/// code is not the declared one, naming its README line.
fn script(block: &[Line]) -> String {
    let mut script = String::new();
    for line in block {
        script.push_str(&line.command);
        script.push_str(&format!(
            "\nstatus=$?; if [ \"$status\" -ne {exit} ]; then \
             echo \"README.md:{number}: exited $status, expected {exit}\" >&2; exit 1; fi\n",
            exit = line.exit,
            number = line.number
        ));
    }
    script
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn every_runnable_block_of_the_readme_runs() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let blocks = runnable_blocks(&readme);
    assert!(blocks.len() >= 5, "only {} runnable blocks", blocks.len());
    let binary = Path::new(env!("CARGO_BIN_EXE_paxsim"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for block in &blocks {
        let dir = scratch_dir("readme");
        copy_dir(&root.join("scenarios"), &dir.join("scenarios"));
        copy_dir(&root.join("seeds"), &dir.join("seeds"));
        let script = script(block);
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-c", &script])
            .current_dir(&dir)
            .env("PATH", &path);
        for variable in ci::SHARD_VARIABLES {
            command.env_remove(variable);
        }
        let output = command.output().expect("bash runs");
        assert!(
            output.status.success(),
            "a runnable README block failed:\n{script}\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

#[test]
fn the_reader_finds_blocks_lines_and_exit_codes() {
    let readme = "text\n<!-- runnable -->\n```sh\n# a comment\n\npaxsim a   # exits 1: why\n\
                  paxsim b \\\n  --c\n```\n```sh\nnot runnable\n```\n";
    let blocks = runnable_blocks(readme);
    assert_eq!(blocks.len(), 1);
    let commands: Vec<(usize, &str, i32)> = blocks[0]
        .iter()
        .map(|line| (line.number, line.command.as_str(), line.exit))
        .collect();
    assert_eq!(
        commands,
        [
            (6, "paxsim a   # exits 1: why", 1),
            (7, "paxsim b \\\n  --c", 0)
        ]
    );
    // A declared code is checked both ways: a wrong one fails the script.
    let output = Command::new("bash")
        .args([
            "-c",
            &script(&[Line {
                number: 1,
                command: "true".into(),
                exit: 1,
            }]),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let marker_without_block =
        std::panic::catch_unwind(|| runnable_blocks("<!-- runnable -->\ntext\n"));
    assert!(marker_without_block.is_err());
}
