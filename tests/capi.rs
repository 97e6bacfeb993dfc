//! The C ABI from C: the programs in tests/c, built against include/yciam.h and the cdylib,
//! run against the fake plainly, under AddressSanitizer/UBSan and under valgrind; plus the
//! header, the exported symbols and bindings/c/example.c.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use common::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/debug (or target/release): this test runs from its deps/ folder.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps")
        .to_path_buf()
}

/// The cdylib, built (once per run) by `cargo build --lib` in the profile of this test, so a
/// plain `cargo test` is enough: cargo test alone does not put libyciam.so in place.
fn cdylib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = profile_dir();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(root())
            .args(["build", "--lib", "-p", "yciam"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        if let Some(target) = dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let out = cmd.output().expect("run cargo build --lib");
        assert!(
            out.status.success(),
            "cargo build --lib failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dir.join(lib_file_name()).exists(), "no cdylib in {dir:?}");
        dir
    })
}

fn lib_file_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libyciam.dylib"
    } else {
        "libyciam.so"
    }
}

/// Whether `program` runs (`program --version` exits 0).
fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skipped(what: &str, why: &str) {
    println!("SKIPPED: {what}: {why}");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Plain,
    Sanitized,
    Valgrind,
}

/// Compiles `tests/c/<name>.c` (or another source) the way the README tells users to, with
/// every warning an error, and links it to the cdylib with an rpath.
fn compile(source: &Path, name: &str, variant: Variant) -> PathBuf {
    let lib_dir = cdylib_dir();
    let out_dir = profile_dir().join("capi-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(format!("{name}-{variant:?}").to_lowercase());
    let mut cmd = Command::new("cc");
    cmd.args(["-Wall", "-Wextra", "-Werror", "-std=c11", "-pthread", "-g"])
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(root().join("tests/c"));
    if variant == Variant::Sanitized {
        cmd.args([
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
        ]);
    }
    cmd.arg(source)
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib_dir.display()))
        .arg("-lyciam")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
    let out = cmd.output().expect("run cc");
    assert!(
        out.status.success(),
        "cc {source:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// The environment of a C test program: the world's (no credential of the caller, the
/// fake's endpoints and CA, a private HOME and cache), a PATH without `yc`, and the fake's
/// URL, CA files and OAuth token for the program itself.
fn env_for(cmd: &mut Command, w: &World) {
    w.configure(cmd);
    let wrong_ca = w.path("wrong-ca.pem");
    std::fs::write(&wrong_ca, w.fake.wrong_ca_pem()).unwrap();
    cmd.env("PATH", "/usr/bin:/bin")
        .env("YCIAM_TEST_URL", w.fake.https_url())
        .env("YCIAM_TEST_CA", &w.ca)
        .env("YCIAM_TEST_WRONG_CA", &wrong_ca)
        .env("YCIAM_TEST_OAUTH_TOKEN", w.fake.oauth_token())
        .env("YCIAM_TEST_VERSION", env!("CARGO_PKG_VERSION"));
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Builds and runs one C test program against a fresh fake; returns the fake for checks.
/// `None` when the variant's tool is missing (a SKIPPED line is printed).
fn run_c_test(name: &str, variant: Variant) -> Option<World> {
    if !have("cc") {
        skipped(name, "no C compiler (cc)");
        return None;
    }
    if variant == Variant::Valgrind && !have("valgrind") {
        skipped(
            &format!("{name} under valgrind"),
            "valgrind is not installed",
        );
        return None;
    }
    let exe = compile(
        &root().join("tests/c").join(format!("{name}.c")),
        name,
        variant,
    );
    let w = World::new();
    let run = |detect_leaks: bool| {
        let mut cmd = match variant {
            Variant::Valgrind => {
                let mut c = Command::new("valgrind");
                c.args([
                    "--error-exitcode=1",
                    "--leak-check=full",
                    "--errors-for-leak-kinds=definite",
                    "--show-leak-kinds=definite",
                    "--quiet",
                ])
                .arg(format!(
                    "--suppressions={}",
                    root().join("tests/c/valgrind.supp").display()
                ))
                .arg(&exe);
                c
            }
            _ => Command::new(&exe),
        };
        env_for(&mut cmd, &w);
        if variant == Variant::Sanitized {
            cmd.env(
                "ASAN_OPTIONS",
                format!("detect_leaks={}", u8::from(detect_leaks)),
            )
            .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
        }
        cmd.output().expect("run the C test program")
    };
    let mut out = run(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if variant == Variant::Sanitized
        && !out.status.success()
        && (stderr.contains("does not work under ptrace")
            || stderr.contains("LeakSanitizer has encountered a fatal error"))
    {
        skipped(
            &format!("{name}: leak checking"),
            "LeakSanitizer cannot run here (under ptrace); ASan and UBSan still run",
        );
        out = run(false);
    }
    assert!(
        out.status.success(),
        "{name} ({variant:?}) failed: {}",
        describe(&out)
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Some(w)
}

fn every_call_and_error_path(variant: Variant) {
    run_c_test("test_capi", variant);
}

fn sixteen_threads_one_exchange(variant: Variant) {
    if let Some(w) = run_c_test("test_threads", variant) {
        assert_eq!(
            w.fake.count(Route::CreateToken),
            1,
            "16 threads x 1000 token calls must make exactly one token exchange"
        );
    }
}

#[test]
fn c_every_call_and_error_path() {
    every_call_and_error_path(Variant::Plain);
}

#[test]
fn c_every_call_and_error_path_under_asan_and_ubsan() {
    every_call_and_error_path(Variant::Sanitized);
}

#[test]
fn c_every_call_and_error_path_under_valgrind() {
    every_call_and_error_path(Variant::Valgrind);
}

#[test]
fn c_sixteen_threads_share_one_token() {
    sixteen_threads_one_exchange(Variant::Plain);
}

#[test]
fn c_sixteen_threads_share_one_token_under_asan_and_ubsan() {
    sixteen_threads_one_exchange(Variant::Sanitized);
}

#[test]
fn c_sixteen_threads_share_one_token_under_valgrind() {
    sixteen_threads_one_exchange(Variant::Valgrind);
}

/// The README's example: compiles cleanly, and against the fake gets a token and lists
/// clouds through the default chain.
#[test]
fn c_example_lists_clouds_with_the_default_chain() {
    if !have("cc") {
        return skipped("bindings/c/example.c", "no C compiler (cc)");
    }
    let exe = compile(
        &root().join("bindings/c/example.c"),
        "example",
        Variant::Plain,
    );
    let w = World::new();
    let mut cmd = Command::new(&exe);
    env_for(&mut cmd, &w);
    cmd.env("YC_OAUTH_TOKEN", w.fake.oauth_token());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"name\":\"cloud-0001\""), "{stdout}");
    for secret in w.secrets() {
        assert!(!stdout.contains(&secret), "the example printed a token");
    }

    // With no credential it says why, on stderr, and fails.
    let mut cmd = Command::new(&exe);
    env_for(&mut cmd, &w);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("YCIAM_STATUS_NO_CREDENTIAL"),
        "{}",
        describe(&out)
    );
}

/// The cdylib exports the C API and nothing else.
#[test]
fn cdylib_exports_only_yciam_symbols() {
    if !cfg!(target_os = "linux") || !have("nm") {
        return skipped("exported symbols", "needs Linux and nm");
    }
    let lib = cdylib_dir().join(lib_file_name());
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let symbols: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let header = std::fs::read_to_string(root().join("include/yciam.h")).unwrap();
    for s in &symbols {
        assert!(s.starts_with("yciam_"), "{s} is exported: {symbols:?}");
        assert!(
            header.contains(&format!(" {s}(")) || header.contains(&format!("*{s}(")),
            "{s} is exported but not declared in include/yciam.h"
        );
    }
    assert_eq!(symbols.len(), 12, "{symbols:?}");
}

/// include/yciam.h is what cbindgen makes of src/capi.rs today (when cbindgen 0.29.4 is
/// installed: `cargo install cbindgen --version 0.29.4 --locked`).
#[test]
fn header_is_generated_from_the_source() {
    let version = Command::new("cbindgen").arg("--version").output();
    let Ok(version) = version else {
        return skipped("header check", "cbindgen is not installed");
    };
    let version = String::from_utf8_lossy(&version.stdout);
    if version.trim() != "cbindgen 0.29.4" {
        return skipped(
            "header check",
            &format!("cbindgen is {version:?}, the header is made with 0.29.4"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("yciam.h");
    let out = Command::new("cbindgen")
        .current_dir(root())
        .args(["--config", "cbindgen.toml", "--crate", "yciam", "--quiet"])
        .arg("--output")
        .arg(&fresh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let committed = std::fs::read_to_string(root().join("include/yciam.h")).unwrap();
    let fresh = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        committed == fresh,
        "include/yciam.h is stale: run `cbindgen --config cbindgen.toml --crate yciam --output include/yciam.h`"
    );
}
