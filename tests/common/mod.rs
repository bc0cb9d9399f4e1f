//! What the CLI test files share: a fresh working directory and running the built `opmaat`.
#![allow(dead_code)] // each test file uses its own share of these

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const CLI: &str = env!("CARGO_BIN_EXE_opmaat");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A fresh, empty working directory under target/cli-tests.
pub fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(ROOT).join("target/cli-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `opmaat` with `args` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(CLI).args(args).current_dir(dir).output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
