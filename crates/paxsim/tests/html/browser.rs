//! Open a page in headless Chromium and read back what it drew: the DOM
//! after the page's script ran (`--dump-dom`), and everything the page
//! printed to the console (`--enable-logging=stderr`). No extra dependency:
//! the page records its counts and any error in `#report`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Chromium is heavy; the machine is shared. One page at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const TIMEOUT: Duration = Duration::from_secs(120);

/// The flags that work on a machine with no network: without the
/// background-networking ones Chromium stalls on refused connections.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// What a page showed after it ran.
pub struct Opened {
    pub dom: String,
    /// The console messages Chromium logged for the page.
    pub console: Vec<String>,
}

impl Opened {
    /// The `data-NAME` attribute of `#report`.
    pub fn report(&self, name: &str) -> String {
        let start = self
            .dom
            .find("<div id=\"report\"")
            .expect("the page has #report");
        let tag = &self.dom[start..start + self.dom[start..].find('>').expect("the tag closes")];
        let needle = format!(" data-{name}=\"");
        let Some(at) = tag.find(&needle) else {
            panic!("#report has no data-{name}: {tag}");
        };
        let value = &tag[at + needle.len()..];
        value[..value.find('"').expect("the attribute closes")].to_string()
    }

    pub fn report_number(&self, name: &str) -> u64 {
        let value = self.report(name);
        value
            .parse()
            .unwrap_or_else(|_| panic!("data-{name} is not a number: {value:?}"))
    }

    /// The errors the page caught, and the console lines Chromium logged:
    /// a healthy page logs nothing.
    pub fn errors(&self) -> Vec<String> {
        let mut errors = self.console.clone();
        if self.report("errors") != "0" {
            errors.push(format!("#errors: {}", self.element_text("errors")));
        }
        errors
    }

    /// The markup of the element with `id`, up to its first closing tag
    /// named `tag` (enough for elements that do not nest their own kind).
    pub fn element(&self, id: &str, tag: &str) -> &str {
        let start = self
            .dom
            .find(&format!(" id=\"{id}\""))
            .unwrap_or_else(|| panic!("the page has no #{id}"));
        let start = self.dom[..start].rfind('<').expect("an element opens");
        let close = format!("</{tag}>");
        let end = self.dom[start..].find(&close).expect("the element closes");
        &self.dom[start..start + end + close.len()]
    }

    /// The text of a `<pre>` or `<div>` with no markup inside, unescaped.
    pub fn element_text(&self, id: &str) -> String {
        let markup = self.element(id, "pre");
        let inner =
            &markup[markup.find('>').expect("the tag closes") + 1..markup.rfind("</").unwrap()];
        unescape(inner)
    }
}

pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The Chromium binary, or a panic that says how to install it.
pub fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        if let Some(path) = find_in_path(name) {
            return path;
        }
    }
    panic!(
        "chromium is not installed: the timeline page tests open pages in headless \
         Chromium. Install Debian's package with `apt-get install -y chromium` \
         (.ci/run installs it when missing)."
    );
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Open `page` (a file) with `fragment` (after `#`, may be empty), and
/// read it back once its script has run.
pub fn open(page: &Path, fragment: &str) -> Opened {
    open_with(page, fragment, &[])
}

/// Open `page` and let its animation frames and timers run (for up to 5 s
/// of virtual time) before reading it back: for pages that redraw after
/// events. Times the page measures are then virtual, not real.
pub fn open_settled(page: &Path, fragment: &str) -> Opened {
    open_with(page, fragment, &["--virtual-time-budget=5000"])
}

fn open_with(page: &Path, fragment: &str, flags: &[&str]) -> Opened {
    let url = file_url(page, fragment);
    let mut arguments = vec!["--window-size=1600,900", "--enable-logging=stderr", "--v=0"];
    arguments.extend_from_slice(flags);
    arguments.extend_from_slice(&["--dump-dom", &url]);
    let output = run(&arguments, page);
    let console = output
        .stderr
        .lines()
        .filter(|line| line.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    assert!(
        output.stdout.contains("</html>"),
        "chromium printed no DOM for {url}; its stderr:\n{}",
        output.stderr
    );
    Opened {
        dom: output.stdout,
        console,
    }
}

/// Take a PNG of `page` into `png`, in a window of `(width, height)`.
pub fn screenshot(page: &Path, fragment: &str, (width, height): (u32, u32), png: &Path) {
    let _ = std::fs::remove_file(png);
    let shot = format!("--screenshot={}", png.display());
    let window = format!("--window-size={width},{height}");
    let output = run(&[&window, &shot, &file_url(page, fragment)], page);
    assert!(
        png.is_file(),
        "chromium wrote no screenshot to {}; its stderr:\n{}",
        png.display(),
        output.stderr
    );
}

fn file_url(page: &Path, fragment: &str) -> String {
    let absolute = std::fs::canonicalize(page).expect("the page exists");
    let mut url = format!("file://{}", absolute.display());
    if !fragment.is_empty() {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

struct Output {
    stdout: String,
    stderr: String,
}

fn run(arguments: &[&str], page: &Path) -> Output {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let profile = page.with_extension("chromium-profile");
    let _ = std::fs::remove_dir_all(&profile);
    let mut child = Command::new(chromium())
        .args(FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).map(|_| text)
    });
    let started = Instant::now();
    while child
        .try_wait()
        .expect("chromium can be waited on")
        .is_none()
    {
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {arguments:?} within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&profile);
    Output {
        stdout: out_reader
            .join()
            .expect("the reader ends")
            .expect("stdout is UTF-8"),
        stderr: err_reader
            .join()
            .expect("the reader ends")
            .unwrap_or_default(),
    }
}
