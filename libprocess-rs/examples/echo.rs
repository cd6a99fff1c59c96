//! The echo process: answers every `ping` message with a `pong` carrying the same body, sent to the sender's UPID. Used to check the wire format from outside the project.
//!
//! `cargo run -p libprocess --example echo -- --ip 127.0.0.1 --port 5055`
//!
//! Prints `echo@<ip>:<port>` on stdout once it is listening. `LIBPROCESS_*` variables apply
//! too; `--ip`/`--port` win over `LIBPROCESS_IP`/`LIBPROCESS_PORT`.

use libprocess::{Bytes, Config, Context, Libprocess, Process, UPID};

struct Echo;

impl Echo {
    fn ping(&mut self, ctx: &mut Context<Self>, from: &UPID, body: Bytes) {
        ctx.send(from, "pong", body);
    }
}

impl Process for Echo {
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.install("ping", Self::ping);
    }
}

fn usage() -> ! {
    eprintln!("usage: echo [--ip <ipv4>] [--port <port>]");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();

    let mut config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).unwrap_or_else(|| usage());
        match flag.as_str() {
            "--ip" => config.ip = Some(value().parse().unwrap_or_else(|_| usage())),
            "--port" => config.port = value().parse().unwrap_or_else(|_| usage()),
            "--help" | "-h" => usage(),
            _ => usage(),
        }
    }

    let lp = match Libprocess::initialize(config).await {
        Ok(lp) => lp,
        Err(error) => {
            eprintln!("Failed to start: {error}");
            std::process::exit(1);
        }
    };
    let pid = match lp.spawn("echo", Echo) {
        Ok(pid) => pid,
        Err(error) => {
            eprintln!("Failed to spawn echo: {error}");
            std::process::exit(1);
        }
    };
    println!("{}", pid.upid());
    let _ = tokio::signal::ctrl_c().await;
    lp.shutdown().await;
}
