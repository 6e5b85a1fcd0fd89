//! `timeline`: see the library's docs.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kit::service::main("timeline", timeline::run).await
}
