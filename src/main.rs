//! The `fandb` binary: see `fandb --help`.

use std::process::ExitCode;

use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    match api::cli::run(api::cli::Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fandb: {error}");
            ExitCode::FAILURE
        }
    }
}
