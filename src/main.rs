//! The `yciam` binary: parse the command line, call the library, print, exit.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
