//! The `ringdrop` binary: command line → [`Config`] → [`ringdrop::server::run`].
//! No logic lives here; a start-up failure becomes one line on stderr and a
//! non-zero exit.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use ringdrop::config::{
    parse_duration, parse_size, Config, DirectIo, DEFAULT_BUFFERS_PER_WORKER,
    MAX_BUFFER_SIZE_BYTES, MIN_BUFFERS_PER_WORKER, MIN_BUFFER_SIZE_BYTES,
};
use ringdrop::storage::pool::buffers_that_fit;

/// An HTTP/1.1 file server on io_uring: browse, download, and upload files of
/// any size straight to disk with constant memory.
#[derive(Debug, Parser)]
#[command(name = "ringdrop", version, about, long_about = None)]
struct Cli {
    /// Directory to serve [default: the current directory]
    root: Option<PathBuf>,

    /// Address to bind
    #[arg(short, long, default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Port to listen on (0 picks a free port; the first stdout line says which)
    #[arg(short, long, default_value_t = 8080)]
    port: u16,

    /// Worker threads, each with its own io_uring and listener [default: number of CPUs]
    #[arg(short, long)]
    workers: Option<usize>,

    /// Largest file an upload may store (K, M, G, T suffixes, binary); larger → 413
    #[arg(long, default_value = "1T", value_parser = parse_size)]
    max_file_size: u64,

    /// Serve files and listings only: refuse PUT, POST, MKCOL and DELETE (405)
    #[arg(long)]
    read_only: bool,

    /// Allow DELETE of files and empty directories
    #[arg(long)]
    allow_delete: bool,

    /// Durability off: answer uploads without fdatasync of the file and fsync
    /// of its directory (faster; a crash may lose recent uploads)
    #[arg(long)]
    no_sync: bool,

    /// When uploads bypass the page cache with O_DIRECT: `auto` (the
    /// default: durable uploads, and --no-sync uploads too large for the
    /// dirty-page headroom), `always`, `durable` (only durable uploads alone
    /// on their worker), `never`
    #[arg(long, value_enum, default_value = "auto")]
    direct_io: DirectIo,
    /// Always hand page-cache file writes to io_uring (the kernel runs them
    /// on its io-wq threads) instead of writing them with pwrite on the
    /// worker while the system's dirty pages are far below the kernel's
    /// throttling point (read from /proc/vmstat). For containers whose
    /// memory cgroup throttles writers below the system-wide limits.
    #[arg(long)]
    no_inline_writes: bool,
    /// Send downloads through the registered buffers (io_uring reads and
    /// writes) instead of sendfile(2)
    #[arg(long)]
    no_sendfile: bool,

    /// Time allowed to receive a request head (e.g. 30, 30s, 500ms, 2m); then 408
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    head_timeout: Duration,

    /// Longest pause allowed between two reads of a request body; then 408
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    body_idle_timeout: Duration,

    /// How long an idle keep-alive connection stays open
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    keepalive_timeout: Duration,

    /// After SIGINT/SIGTERM, how long requests in flight may take to finish
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    shutdown_timeout: Duration,

    /// Connections open at once; beyond it new ones get 503
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,

    /// Size of each registered I/O buffer (64K to 1G)
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    buffer_size: u64,

    /// Registered buffers per worker (at least 2; an upload uses 2 at a time)
    /// [default: 16, or fewer to fit under `ulimit -l` without CAP_IPC_LOCK]
    #[arg(long)]
    buffers: Option<usize>,

    /// Log level: error, warn, info, debug, trace (or a tracing filter)
    #[arg(long, default_value = "info")]
    log_level: String,
}

fn config_from(cli: Cli) -> anyhow::Result<Config> {
    let root = match cli.root {
        Some(root) => root,
        None => std::env::current_dir()?,
    };
    let mut config = Config::new(root);
    config.bind = cli.bind;
    config.port = cli.port;
    if let Some(workers) = cli.workers {
        anyhow::ensure!(workers >= 1, "--workers must be at least 1");
        config.workers = workers;
    }
    config.max_file_size_bytes = cli.max_file_size;
    config.read_only = cli.read_only;
    config.allow_delete = cli.allow_delete;
    config.durable = !cli.no_sync;
    config.direct_io = cli.direct_io;
    config.inline_writes = !cli.no_inline_writes;
    config.sendfile = !cli.no_sendfile;
    config.head_timeout = cli.head_timeout;
    config.body_idle_timeout = cli.body_idle_timeout;
    config.keepalive_timeout = cli.keepalive_timeout;
    config.shutdown_timeout = cli.shutdown_timeout;
    anyhow::ensure!(
        cli.max_connections >= 1,
        "--max-connections must be at least 1"
    );
    config.max_connections = cli.max_connections;
    let buffer_size = usize::try_from(cli.buffer_size).unwrap_or(usize::MAX);
    anyhow::ensure!(
        (MIN_BUFFER_SIZE_BYTES..=MAX_BUFFER_SIZE_BYTES).contains(&buffer_size),
        "--buffer-size must be between 64K and 1G"
    );
    // Whole 4 KiB blocks, so direct (O_DIRECT) writes can use every byte.
    config.buffer_size_bytes = ringdrop::storage::aligned::round_up_to_block(buffer_size);
    let buffers = cli.buffers.unwrap_or_else(|| {
        buffers_that_fit(
            config.workers,
            config.buffer_size_bytes,
            DEFAULT_BUFFERS_PER_WORKER,
            MIN_BUFFERS_PER_WORKER,
        )
    });
    anyhow::ensure!(
        buffers >= MIN_BUFFERS_PER_WORKER && buffers <= usize::from(u16::MAX),
        "--buffers must be between 2 and 65535"
    );
    config.buffers_per_worker = buffers;
    Ok(config)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = config_from(cli)
        .and_then(|config| ringdrop::server::run(config).map_err(anyhow::Error::from));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ringdrop: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
