//! The `ringdrop` binary: command line → [`Config`] → [`ringdrop::server::run`].
//! No logic lives here; a start-up failure becomes one line on stderr and a
//! non-zero exit.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ringdrop::auth::{AccessConfig, AllowRule, UserSpec, DEFAULT_AUTH_THREADS};
use ringdrop::config::{
    default_buffers_per_worker, parse_duration, parse_size, round_buffer_size, Config, DirectIo,
    MAX_BUFFER_SIZE_BYTES, MIN_BUFFERS_PER_WORKER, MIN_BUFFER_SIZE_BYTES,
};
use ringdrop::resumable::ResumableLimits;

/// An HTTP/1.1 file server on io_uring: browse, download, and upload files of
/// any size straight to disk with constant memory.
#[derive(Debug, Parser)]
#[command(name = "ringdrop", version, about, long_about = None)]
#[command(args_conflicts_with_subcommands = true)]
#[command(
    after_help = "Sizes take K, M, G, T (binary); durations 30, 30s, 500ms, 2m, 1h.\n\
    Access rules: README, Access control. Examples:\n  \
    ringdrop /srv/files\n  \
    ringdrop --bind 0.0.0.0 --user alice:$(ringdrop hash-password) --allow @anonymous:/:read --allow alice:/:all /srv/files"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Directory to serve [default: .]
    #[arg(value_name = "ROOT")]
    root: Option<PathBuf>,

    /// Address to bind
    #[arg(short, long, value_name = "addr", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Port to listen on (0 picks one)
    #[arg(short, long, value_name = "port", default_value_t = 8080)]
    port: u16,

    /// Worker threads [default: CPUs]
    #[arg(short, long, value_name = "n")]
    workers: Option<usize>,

    /// Refuse PUT, POST, MKCOL and DELETE
    #[arg(long, help_heading = "Uploads")]
    read_only: bool,

    /// Allow DELETE of files and empty directories
    #[arg(long, help_heading = "Uploads")]
    allow_delete: bool,

    /// Largest file an upload may store
    #[arg(long, value_name = "size", default_value = "1T", value_parser = parse_size, help_heading = "Uploads")]
    max_file_size: u64,

    /// Answer uploads without syncing them to disk (faster, less safe)
    #[arg(long, help_heading = "Uploads")]
    no_sync: bool,

    /// When uploads bypass the page cache: auto, always, never
    #[arg(
        long,
        value_name = "when",
        value_enum,
        default_value = "auto",
        hide_possible_values = true,
        help_heading = "Uploads"
    )]
    direct_io: DirectIo,

    /// Always hand page-cache writes to io_uring (for throttling cgroups)
    #[arg(long, help_heading = "Uploads")]
    no_inline_writes: bool,

    /// Send downloads through buffers instead of sendfile(2)
    #[arg(long, help_heading = "Uploads")]
    no_sendfile: bool,

    /// An unfinished resumable upload expires this long after its last request (then 410)
    #[arg(long, value_name = "dur", default_value = "24h", value_parser = parse_duration, help_heading = "Uploads")]
    upload_expiry: Duration,

    /// Unfinished resumable uploads at once (beyond: 503)
    #[arg(long, value_name = "n", default_value_t = ResumableLimits::DEFAULT_MAX_UNFINISHED_UPLOADS, help_heading = "Uploads")]
    max_unfinished_uploads: u64,

    /// Bytes unfinished resumable uploads may hold together (beyond: 507)
    #[arg(long, value_name = "size", default_value = "256G", value_parser = parse_size, help_heading = "Uploads")]
    max_staged_bytes: u64,

    /// Sign-in user NAME:HASH, HASH from `ringdrop hash-password` (repeatable)
    #[arg(long = "user", value_name = "name:hash", value_parser = ringdrop::auth::parse_user, help_heading = "Access control")]
    users: Vec<UserSpec>,

    /// Grant WHO (user, @users, @anonymous) PERMS under PATH (repeatable)
    #[arg(long = "allow", value_name = "who:path:perms", value_parser = ringdrop::auth::parse_allow, help_heading = "Access control")]
    allow: Vec<AllowRule>,

    /// Bearer tokens: `SHA256HEX PATH PERMS EXPIRES` per line
    #[arg(long, value_name = "file", help_heading = "Access control")]
    token_file: Option<PathBuf>,

    /// Threads that check passwords, off the I/O workers
    #[arg(long, value_name = "n", default_value_t = DEFAULT_AUTH_THREADS, help_heading = "Access control")]
    auth_threads: usize,

    /// Serve HTTPS with this PEM certificate chain (reloaded on SIGHUP)
    #[arg(
        long,
        value_name = "file",
        requires = "tls_key",
        help_heading = "HTTPS"
    )]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(
        long,
        value_name = "file",
        requires = "tls_cert",
        help_heading = "HTTPS"
    )]
    tls_key: Option<PathBuf>,

    /// Time to receive a request head (then 408)
    #[arg(long, value_name = "dur", default_value = "30s", value_parser = parse_duration, help_heading = "Limits")]
    head_timeout: Duration,

    /// Longest pause between body bytes (then 408)
    #[arg(long, value_name = "dur", default_value = "60s", value_parser = parse_duration, help_heading = "Limits")]
    body_idle_timeout: Duration,

    /// How long an idle keep-alive connection stays open
    #[arg(long, value_name = "dur", default_value = "60s", value_parser = parse_duration, help_heading = "Limits")]
    keepalive_timeout: Duration,

    /// How long requests in flight may finish after SIGTERM
    #[arg(long, value_name = "dur", default_value = "30s", value_parser = parse_duration, help_heading = "Limits")]
    shutdown_timeout: Duration,

    /// Connections at once (the longest-idle makes room)
    #[arg(
        long,
        value_name = "n",
        default_value_t = 10_000,
        help_heading = "Limits"
    )]
    max_connections: usize,

    /// Connections at once from one IP address [default: no limit]
    #[arg(long, value_name = "n", help_heading = "Limits")]
    max_connections_per_ip: Option<usize>,

    /// Size of each registered buffer (64K to 1G)
    #[arg(long, value_name = "size", default_value = "1M", value_parser = parse_size, help_heading = "Limits")]
    buffer_size: u64,

    /// Registered buffers per worker [default: 16, or what `ulimit -l` allows]
    #[arg(long, value_name = "n", help_heading = "Limits")]
    buffers: Option<usize>,

    /// Serve Prometheus metrics on this address [default: off]
    #[arg(long, value_name = "addr:port", help_heading = "Operations")]
    metrics: Option<std::net::SocketAddr>,

    /// Log level: error, warn, info, debug, trace, or a filter
    #[arg(
        long,
        value_name = "level",
        default_value = "info",
        help_heading = "Operations"
    )]
    log_level: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read a password on stdin (one line) and print its argon2id hash for --user NAME:HASH
    HashPassword,
}

/// `ringdrop hash-password`: one line from stdin (without its line end) →
/// its argon2id PHC string on stdout.
fn hash_password_command() -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (shown as typed): ");
    }
    let mut line = Vec::new();
    stdin.lock().read_until(b'\n', &mut line)?;
    let password = line
        .strip_suffix(b"\n")
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .unwrap_or(&line);
    let hash = ringdrop::auth::hash_password(password)?;
    writeln!(std::io::stdout(), "{hash}")?;
    Ok(())
}

/// The access-control flags → `Config::access`; the token file is read here.
fn access_from(
    users: Vec<UserSpec>,
    allow: Vec<AllowRule>,
    token_file: Option<PathBuf>,
    auth_threads: usize,
) -> anyhow::Result<AccessConfig> {
    let tokens = match token_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("--token-file {}: {e}", path.display()))?;
            let tokens = ringdrop::auth::parse_token_file(&text)
                .map_err(|e| anyhow::anyhow!("--token-file {}: {e}", path.display()))?;
            Some(tokens)
        }
        None => None,
    };
    Ok(AccessConfig::new(users, allow, tokens, auth_threads)?)
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
    config.metrics = cli.metrics;
    if let Some(per_ip) = cli.max_connections_per_ip {
        anyhow::ensure!(per_ip >= 1, "--max-connections-per-ip must be at least 1");
        config.max_connections_per_ip = Some(per_ip);
    }
    let buffer_size = usize::try_from(cli.buffer_size).unwrap_or(usize::MAX);
    anyhow::ensure!(
        (MIN_BUFFER_SIZE_BYTES..=MAX_BUFFER_SIZE_BYTES).contains(&buffer_size),
        "--buffer-size must be between 64K and 1G"
    );
    // Whole 4 KiB blocks, so direct (O_DIRECT) writes can use every byte.
    config.buffer_size_bytes = round_buffer_size(buffer_size);
    let buffers = cli
        .buffers
        .unwrap_or_else(|| default_buffers_per_worker(config.workers, config.buffer_size_bytes));
    anyhow::ensure!(
        buffers >= MIN_BUFFERS_PER_WORKER && buffers <= usize::from(u16::MAX),
        "--buffers must be between 2 and 65535"
    );
    config.buffers_per_worker = buffers;
    config.access = access_from(cli.users, cli.allow, cli.token_file, cli.auth_threads)?;
    anyhow::ensure!(
        !cli.upload_expiry.is_zero(),
        "--upload-expiry must be longer than 0"
    );
    config.resumable = ResumableLimits {
        max_upload_bytes: config.max_file_size_bytes,
        max_unfinished_uploads: cli.max_unfinished_uploads,
        max_staged_bytes: cli.max_staged_bytes,
        // Whole seconds (Upload-Expires is an HTTP-date), rounded up.
        expiry_secs: u64::try_from(cli.upload_expiry.as_millis().div_ceil(1000))
            .unwrap_or(u64::MAX),
        ..ResumableLimits::default()
    };
    if let (Some(cert), Some(key)) = (cli.tls_cert, cli.tls_key) {
        let files = ringdrop::tls::TlsFiles { cert, key };
        // Fail at start, in one line, on a missing or bad file.
        ringdrop::tls::load_server_config(&files)?;
        config.tls = Some(files);
    }
    Ok(config)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::HashPassword) = cli.command {
        return match hash_password_command() {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("ringdrop: {err:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
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
