//! `cargo run -p genesys-cloud-mock -- --port 8080`: the mock as a standalone server.

use genesys_cloud_mock::{MockOptions, MockServer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = MockOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => options = options.port(args.next().ok_or("--port needs a value")?.parse()?),
            "--seed" => options = options.seed(args.next().ok_or("--seed needs a value")?.parse()?),
            "--token-lifetime" => {
                options = options.token_lifetime(std::time::Duration::from_secs(
                    args.next().ok_or("--token-lifetime needs seconds")?.parse()?,
                ))
            }
            "--idle-timeout-ms" => {
                options = options.idle_timeout(std::time::Duration::from_millis(
                    args.next().ok_or("--idle-timeout-ms needs milliseconds")?.parse()?,
                ))
            }
            "--rate-limit" => {
                let value = args.next().ok_or("--rate-limit needs ALLOWED/SECONDS, e.g. 300/60")?;
                let (allowed, secs) = value.split_once('/').ok_or("--rate-limit needs ALLOWED/SECONDS, e.g. 300/60")?;
                options = options.rate_limit(allowed.parse()?, std::time::Duration::from_secs_f64(secs.parse()?));
            }
            "--help" | "-h" => {
                println!(
                    "genesys-cloud-mock [--port N] [--seed N] [--token-lifetime SECONDS] [--idle-timeout-ms MS] [--rate-limit ALLOWED/SECONDS]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let server = MockServer::start_with(options).await?;
    println!("genesys-cloud-mock: {} operations on {}", server.operation_count(), server.base_url());
    println!("  token endpoint: {}/oauth/token (any client id and secret)", server.base_url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
