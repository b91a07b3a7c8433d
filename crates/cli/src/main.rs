//! `awsmask`: find AWS identifiers in text on stdin or in files.

mod input;
mod mask;
mod proxy;
mod scan;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Keep AWS identifiers out of text sent to large language models.
///
/// awsmask finds AWS identifiers (instance and VPC ids, ARNs, account ids, access keys, bucket
/// names, endpoints, private IPs, ...) in text such as AWS CLI output, CloudTrail events,
/// Terraform plans and logs, replaces them with typed tokens before the text goes to a model,
/// and puts the real values back in the answer:
///
///   awsmask mask < prompt.txt | llm-tool | awsmask unmask
#[derive(Parser, Debug)]
#[command(name = "awsmask", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Report the AWS identifiers in files or stdin (exit 0: none found, 1: found, 2: error).
    ///
    /// Reads the FILEs in order as one stream (or stdin when none is given) in bounded memory.
    /// Invalid UTF-8 does not stop a scan. Values are redacted unless --show-values is given.
    Scan(scan::ScanArgs),
    /// Mask the AWS identifiers on stdin, writing the text with tokens to stdout.
    ///
    /// Each distinct identifier becomes a typed token such as AWS_EC2_7KQ2XM; the mapping is
    /// kept in the store (by default a vault file that `awsmask unmask` in another process
    /// reads too). Streams in bounded memory. Fails closed: on any error the exit status is 2
    /// and nothing past the last fully masked point is written.
    Mask(mask::MaskArgs),
    /// Put the real values back for the tokens on stdin, writing to stdout as it reads.
    ///
    /// Only tokens of the namespace resolve; any other text passes unchanged. Tokens may come
    /// back in another letter case or wrapped in Markdown.
    Unmask(mask::StoreArgs),
    /// Run a reverse proxy in front of the Claude Messages API.
    ///
    /// Bodies of `POST /v1/messages` and `/v1/messages/count_tokens` go upstream with every
    /// AWS identifier masked (thinking blocks, ids and base64 data untouched); answers come
    /// back with the real values, streamed ones event by event as they arrive. Other routes
    /// pass through unchanged; headers (`x-api-key`, `anthropic-version`, ...) are forwarded
    /// and never logged. Fails closed: when the store cannot be reached the client gets HTTP
    /// 503 and nothing is sent upstream. Point a client at it with
    /// `ANTHROPIC_BASE_URL=http://127.0.0.1:8787`. Logs one JSON line per request on stderr
    /// (route, status, milliseconds, how many values were masked), never a value. Stops on
    /// SIGTERM or Ctrl-C after the requests in flight.
    Proxy(proxy::ProxyArgs),
    /// List the kinds of identifiers awsmask knows.
    Kinds(KindsArgs),
}

/// Which kinds of identifiers to find (see `awsmask kinds`).
#[derive(clap::Args, Debug, Default)]
pub(crate) struct KindArgs {
    /// Kinds to find besides the default ones, comma-separated (such as `name_like`, which is
    /// off by default; see `awsmask kinds`).
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    enable: Vec<String>,
    /// Kinds not to find, comma-separated.
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    disable: Vec<String>,
}

impl KindArgs {
    /// The detection settings these arguments describe (an unknown kind is an error then).
    pub(crate) fn config(&self) -> awsmask::Config {
        awsmask::Config::new()
            .enable(self.enable.iter().map(String::as_str))
            .disable(self.disable.iter().map(String::as_str))
    }
}

#[derive(clap::Args, Debug)]
struct KindsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = KindsFormat::Text)]
    format: KindsFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum KindsFormat {
    /// An aligned table: name, tag, default, description.
    Text,
    /// One JSON object per kind.
    Jsonl,
}

/// Exit codes, like grep's.
pub(crate) mod exit {
    pub(crate) const NONE_FOUND: u8 = 0;
    pub(crate) const FOUND: u8 = 1;
    pub(crate) const ERROR: u8 = 2;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => scan::run(&args),
        Command::Mask(args) => mask::run_mask(&args),
        Command::Unmask(args) => mask::run_unmask(&args),
        Command::Proxy(args) => proxy::run(&args),
        Command::Kinds(args) => kinds(&args).map(|()| exit::NONE_FOUND),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::from(exit::NONE_FOUND);
            }
            #[expect(clippy::print_stderr, reason = "the CLI reports its errors on stderr")]
            {
                eprintln!("awsmask: error: {err:#}");
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

/// A closed stdout (`awsmask scan | head`) ends the program quietly.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<awsmask::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

fn kinds(args: &KindsArgs) -> anyhow::Result<()> {
    let det = awsmask::Detector::new();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match args.format {
        KindsFormat::Text => {
            let w = det
                .kinds()
                .iter()
                .map(|k| k.name().len())
                .max()
                .unwrap_or(0);
            let t = det.kinds().iter().map(|k| k.tag().len()).max().unwrap_or(0);
            writeln!(
                out,
                "{:w$}  {:t$}  {:7}  DESCRIPTION",
                "NAME", "TAG", "DEFAULT"
            )?;
            for k in det.kinds() {
                let on = if k.default_on() { "on" } else { "off" };
                writeln!(
                    out,
                    "{:w$}  {:t$}  {:7}  {}",
                    k.name(),
                    k.tag(),
                    on,
                    k.about()
                )?;
            }
        }
        KindsFormat::Jsonl => {
            for k in det.kinds() {
                writeln!(
                    out,
                    "{{\"name\":{},\"tag\":{},\"default\":{},\"description\":{}}}",
                    scan::json_str(k.name().as_bytes()),
                    scan::json_str(k.tag().as_bytes()),
                    k.default_on(),
                    scan::json_str(k.about().as_bytes())
                )?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// Threads a scan is split among: one per available core, at most 8; `AWSMASK_THREADS`
/// overrides it (1 turns the splitting off).
pub(crate) fn scan_threads() -> usize {
    std::env::var("AWSMASK_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
        .max(1)
}
