//! `awsmask mask` and `awsmask unmask`.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use awsmask::{MappingStore, Masker, MasterKey, StoreSpec};

use crate::exit;

#[derive(clap::Args, Debug)]
pub(crate) struct StoreArgs {
    /// Where mappings live: `memory` (this process only), `file:PATH` (an embedded vault that
    /// other processes on this machine share), `redis://[user:pass@]host:port[/db]`,
    /// `rediss://...` (TLS), or `redis+cluster://` / `rediss+cluster://` with comma-separated
    /// seed nodes (Redis Cluster, ElastiCache cluster mode). Default:
    /// `file:$XDG_DATA_HOME/awsmask/vault.db` (else `~/.local/share/awsmask/vault.db`).
    #[arg(long, env = "AWSMASK_STORE", value_name = "STORE")]
    store: Option<String>,
    /// Namespace of the mappings (a tenant, a conversation): tokens of one namespace never
    /// unmask in another.
    #[arg(long, env = "AWSMASK_NAMESPACE", default_value = "default")]
    namespace: String,
    /// File holding the master key (64 hexadecimal digits). Without it, `AWSMASK_KEY` is used,
    /// else the key file beside the vault (created on first use, mode 0600).
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,
    /// A key file of a master key rotated out (repeat it, newest first): its tokens still
    /// unmask; new tokens use the current key. `AWSMASK_PREVIOUS_KEYS` takes them as
    /// comma-separated hexadecimal keys instead.
    #[arg(long, value_name = "PATH")]
    previous_key_file: Vec<PathBuf>,
    /// A CA certificate (PEM) to verify `rediss://` servers with, instead of the system roots.
    /// Verification is always on.
    #[arg(long, env = "AWSMASK_TLS_CA_FILE", value_name = "PATH")]
    tls_ca_file: Option<PathBuf>,
    /// How long a mapping lives after its last use, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 7.0)]
    ttl_days: f64,
}

/// `awsmask mask`: where mappings live, and which kinds to mask.
#[derive(clap::Args, Debug)]
pub(crate) struct MaskArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(flatten)]
    pub(crate) kinds: crate::KindArgs,
}

impl StoreArgs {
    /// Builds the masker these arguments describe, finding the kinds `kinds` says.
    pub(crate) fn masker(&self, kinds: &crate::KindArgs) -> anyhow::Result<Masker> {
        let spec = match &self.store {
            Some(s) => StoreSpec::parse(s)?,
            None => StoreSpec::File(default_vault()?),
        };
        let key = self.key(&spec)?;
        let store: Arc<dyn MappingStore> = spec.open_with_ca(self.tls_ca_file.as_deref())?;
        if !(self.ttl_days > 0.0 && self.ttl_days <= 3650.0) {
            bail!("--ttl-days must be more than 0 and at most 3650");
        }
        let ttl = Duration::from_secs_f64(self.ttl_days * 86_400.0);
        let mut previous = Vec::new();
        for path in &self.previous_key_file {
            previous.push(MasterKey::from_file(path)?);
        }
        if let Ok(list) = std::env::var("AWSMASK_PREVIOUS_KEYS") {
            for hex in list.split(',').filter(|k| !k.trim().is_empty()) {
                previous.push(MasterKey::from_hex(hex.trim()).context("AWSMASK_PREVIOUS_KEYS")?);
            }
        }
        Ok(Masker::builder()
            .configure(kinds.config())
            .store(store)
            .key(key)
            .previous_keys(previous)
            .namespace(&self.namespace)
            .ttl(ttl)
            .threads(crate::scan_threads())
            .build()?)
    }

    /// Whether the mappings live in this process only.
    fn is_memory(&self) -> bool {
        self.store
            .as_deref()
            .map(StoreSpec::parse)
            .is_some_and(|s| matches!(s, Ok(StoreSpec::Memory)))
    }

    fn key(&self, spec: &StoreSpec) -> anyhow::Result<MasterKey> {
        if let Some(path) = &self.key_file {
            return Ok(MasterKey::from_file(path)?);
        }
        if let Ok(hex) = std::env::var("AWSMASK_KEY") {
            return MasterKey::from_hex(&hex).context("AWSMASK_KEY");
        }
        match spec {
            // the key file beside the vault: `vault.db` → `vault.key`
            StoreSpec::File(vault) => Ok(MasterKey::load_or_create(&vault.with_extension("key"))?),
            // a memory store lives and dies with this process, and so may its key
            _ => Ok(MasterKey::random()?),
        }
    }
}

/// `$XDG_DATA_HOME/awsmask/vault.db`, else `~/.local/share/awsmask/vault.db`.
fn default_vault() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("awsmask/vault.db"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/share/awsmask/vault.db")),
        None => {
            bail!("cannot find a place for the vault: set XDG_DATA_HOME or HOME, or pass --store")
        }
    }
}

/// Counts bytes and, when stderr is a terminal, shows progress for long inputs.
struct Progress<R> {
    inner: R,
    bytes: u64,
    shown: bool,
    started: Instant,
    last: Instant,
    verb: &'static str,
    enabled: bool,
}

impl<R> Progress<R> {
    fn new(inner: R, verb: &'static str) -> Progress<R> {
        let now = Instant::now();
        Progress {
            inner,
            bytes: 0,
            shown: false,
            started: now,
            last: now,
            verb,
            enabled: io::stderr().is_terminal(),
        }
    }

    fn tick(&mut self, n: usize) {
        self.bytes += n as u64;
        // only inputs that take a while get a progress line
        if !self.enabled
            || self.bytes < 64 << 20
            || self.last.elapsed() < Duration::from_millis(250)
        {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let whole_mib = u32::try_from(self.bytes >> 20).unwrap_or(u32::MAX);
        let mib = f64::from(whole_mib);
        let rate = mib / self.started.elapsed().as_secs_f64().max(1e-9);
        let bar_len = (whole_mib / 64 % 30) as usize + 1;
        #[expect(
            clippy::print_stderr,
            reason = "the progress line goes to the terminal"
        )]
        {
            eprint!(
                "\r[{:<30}] {} {mib:.0} MiB ({rate:.0} MiB/s)",
                "#".repeat(bar_len),
                self.verb
            );
        }
    }

    fn done(&self) {
        if self.shown {
            #[expect(clippy::print_stderr, reason = "clears the progress line")]
            {
                eprint!("\r{:80}\r", "");
            }
        }
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.tick(n);
        Ok(n)
    }
}

fn stdout_writer() -> Box<dyn Write> {
    let stdout = io::stdout();
    if stdout.is_terminal() {
        Box::new(io::LineWriter::new(stdout.lock()))
    } else {
        Box::new(io::BufWriter::with_capacity(256 * 1024, stdout.lock()))
    }
}

pub(crate) fn run_mask(args: &MaskArgs) -> anyhow::Result<u8> {
    let masker = args.store.masker(&args.kinds)?;
    let mut input = Progress::new(io::stdin().lock(), "masked");
    let mut out = stdout_writer();
    let result = masker.mask_stream(&mut input, &mut out);
    input.done();
    // what was written is masked up to its end: hand it on even when the rest failed
    let flushed = out.flush();
    result?;
    flushed?;
    if args.store.is_memory() {
        // the process ends here and its memory goes back at once: freeing the cache and the
        // mappings one by one cost ~6 % of a large run's time, after the output was done. (A
        // vault is closed properly: SQLite folds its write-ahead log in on close.)
        std::mem::forget(masker);
    }
    Ok(exit::NONE_FOUND)
}

pub(crate) fn run_unmask(args: &StoreArgs) -> anyhow::Result<u8> {
    // unmasking finds tokens, not identifiers: the default kinds serve
    let masker = args.masker(&crate::KindArgs::default())?;
    let mut unmasker = masker.stream_unmasker();
    let mut input = Progress::new(io::stdin().lock(), "unmasked");
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut carry: Vec<u8> = Vec::new();
    let mut offset: u64 = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("cannot read stdin"),
        };
        carry.extend_from_slice(&buf[..n]);
        let valid = match std::str::from_utf8(&carry) {
            Ok(_) => carry.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => bail!(
                "the input is not UTF-8 (invalid byte at offset {})",
                offset + e.valid_up_to() as u64
            ),
        };
        // the prefix was just checked
        let text = std::str::from_utf8(&carry[..valid]).unwrap_or_default();
        let ready = unmasker.push(text)?;
        // answers stream in: pass each piece on at once
        out.write_all(ready.as_bytes())?;
        out.flush()?;
        offset += valid as u64;
        carry.drain(..valid);
    }
    input.done();
    if !carry.is_empty() {
        bail!("the input ends inside a UTF-8 character (offset {offset})");
    }
    let rest = unmasker.finish()?;
    out.write_all(rest.as_bytes())?;
    out.flush()?;
    Ok(exit::NONE_FOUND)
}
