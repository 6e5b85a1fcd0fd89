//! `users`: see the library's docs.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    kit::service::main("users", users::run).await
}
