//! Redis and Redis Cluster (ElastiCache in cluster mode) stores.
//!
//! Keys are `awsmask:v1:<namespace id>:<token>` and values are sealed, so a dump, `MONITOR`
//! or the slowlog shows no identifier and no namespace name. Every command names one key, so
//! keys spread over all shards. A claim is `SET key sealed NX GET EX ttl` (and `EXPIRE` to
//! refresh a mapping that was there); a lookup is `GETEX key EX ttl`. One call sends all its
//! commands at once: one round trip to a standalone server, one per shard to a cluster.
//!
//! With `replicas` (`?replicas=N` on the URL), a claim is confirmed only once N replicas
//! acknowledged its writes (`WAIT`, sent to every primary in a cluster): a primary lost right
//! after a claim then cannot take a mapping with it that a failover would not find. Fewer
//! acknowledgements within the deadline fail the claim, so nothing is masked with it.
//!
//! Every call runs under an outer deadline (the cluster client has no response timeout of its
//! own, and a frozen primary would block a call forever), and a circuit breaker fails fast for
//! a cool-down after repeated failures.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::{Client, Cmd, TlsCertificates, Value};

use super::{Claim, MappingStore};
use crate::error::{Error, ErrorKind};
use crate::keys::NamespaceId;

/// Settings of a Redis store; every field has a default.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisOptions {
    /// A CA certificate (PEM) to verify servers with, instead of the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// How long a whole call may take (default 5 s).
    pub deadline: Duration,
    /// How long connecting may take (default 5 s).
    pub connect_timeout: Duration,
    /// After this many failed calls in a row the breaker opens (default 5).
    pub breaker_failures: u32,
    /// How long an open breaker fails calls at once (default 10 s).
    pub breaker_cooldown: Duration,
    /// How many replicas must acknowledge a claim's writes before it counts (default 0: the
    /// primary's answer is enough). Set it to the replicas per shard where a failover must
    /// not lose a mapping just written; `?replicas=N` on the URL sets it too.
    pub replicas: u32,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            ca_file: None,
            deadline: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(10),
            replicas: 0,
        }
    }
}

enum Conn {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
}

/// Counts failures in a row; open for a cool-down after too many.
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// A store on a Redis server or a Redis Cluster.
pub struct RedisStore {
    /// The connections hold futures and callbacks that are not unwind-safe; a panic while
    /// one runs leaves nothing a later call trusts (it reconnects or fails), so asserting
    /// unwind safety is sound here.
    conn: std::panic::AssertUnwindSafe<Conn>,
    runtime: tokio::runtime::Runtime,
    options: RedisOptions,
    breaker: Mutex<Breaker>,
    /// the URL without credentials, for messages
    shown: String,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

use super::redact as redact_url;

fn err(shown: &str, what: &str, e: &dyn fmt::Display) -> Error {
    Error::new(ErrorKind::Store, format!("redis {shown}: {what}: {e}"))
}

impl RedisStore {
    /// Connects to `url`: `redis://[user:pass@]host:port[/db]`, `rediss://...` (TLS), or
    /// `redis+cluster://` / `rediss+cluster://` with one or more comma-separated seed nodes
    /// (`host:port,host:port`) or a configuration endpoint. Credentials are percent-decoded.
    /// TLS always verifies certificates, against the system roots or `options.ca_file`.
    ///
    /// # Errors
    ///
    /// A malformed URL, an unreadable CA file, or a server that cannot be reached in time. The
    /// message names the server, never the password.
    pub fn connect(url: &str, mut options: RedisOptions) -> Result<RedisStore, Error> {
        // rustls needs a process-wide crypto provider; a second install is a harmless no-op
        let _ = rustls::crypto::ring::default_provider().install_default();
        let shown = redact_url(url);
        let (url, query) = url.split_once('?').unwrap_or((url, ""));
        apply_query(query, &mut options, &shown)?;
        let (cluster, tls, rest) = parse_scheme(url)
            .ok_or_else(|| Error::new(ErrorKind::Config, format!("not a Redis URL: {shown}")))?;
        let root_cert = match &options.ca_file {
            Some(p) => Some(std::fs::read(p).map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("cannot read the CA file {}: {e}", p.display()),
                )
            })?),
            None => None,
        };
        let certs = || TlsCertificates {
            client_tls: None,
            root_cert: root_cert.clone(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("awsmask-redis")
            .enable_all()
            .build()
            .map_err(|e| err(&shown, "cannot start its I/O thread", &e))?;
        let scheme = if tls { "rediss" } else { "redis" };
        let conn = if cluster {
            let (creds, hosts) = match rest.rfind('@') {
                Some(at) => (&rest[..=at], &rest[at + 1..]),
                None => ("", rest),
            };
            let nodes: Vec<String> = hosts
                .split(',')
                .filter(|h| !h.is_empty())
                .map(|h| format!("{scheme}://{creds}{}", h.split('/').next().unwrap_or(h)))
                .collect();
            if nodes.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("no seed node in {shown}"),
                ));
            }
            let mut builder = redis::cluster::ClusterClientBuilder::new(nodes)
                .connection_timeout(options.connect_timeout)
                .response_timeout(options.deadline)
                .retries(2);
            if tls {
                builder = builder.certs(certs());
            }
            let client = builder
                .build()
                .map_err(|e| err(&shown, "bad cluster settings", &e))?;
            let conn = runtime
                .block_on(async {
                    tokio::time::timeout(options.connect_timeout * 2, client.get_async_connection())
                        .await
                })
                .map_err(|_| err(&shown, "cannot connect", &"no answer in time"))?
                .map_err(|e| err(&shown, "cannot connect", &e))?;
            Conn::Cluster(conn)
        } else {
            let full = format!("{scheme}://{rest}");
            let client = if tls {
                Client::build_with_tls(full.as_str(), certs())
            } else {
                Client::open(full.as_str())
            }
            .map_err(|e| err(&shown, "bad URL", &e))?;
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(Some(options.connect_timeout))
                .set_response_timeout(Some(options.deadline))
                .set_number_of_retries(1);
            let conn = runtime
                .block_on(async {
                    tokio::time::timeout(
                        options.connect_timeout * 2,
                        ConnectionManager::new_with_config(client, config),
                    )
                    .await
                })
                .map_err(|_| err(&shown, "cannot connect", &"no answer in time"))?
                .map_err(|e| err(&shown, "cannot connect", &e))?;
            Conn::Standalone(conn)
        };
        let store = RedisStore {
            conn: std::panic::AssertUnwindSafe(conn),
            runtime,
            options,
            breaker: Mutex::new(Breaker {
                failures: 0,
                open_until: None,
            }),
            shown,
        };
        // a wrong password or CA shows now, not at the first mask
        store.run(&[redis::cmd("PING")])?;
        Ok(store)
    }

    /// Runs single-key commands at once; their replies in order. Under the deadline and the
    /// breaker.
    fn run(&self, cmds: &[Cmd]) -> Result<Vec<Value>, Error> {
        {
            let mut b = self.breaker.lock().map_err(|_| poisoned())?;
            if let Some(until) = b.open_until {
                if Instant::now() < until {
                    return Err(Error::new(
                        ErrorKind::Store,
                        format!(
                            "redis {}: failing fast after {} failures in a row (circuit open)",
                            self.shown, b.failures
                        ),
                    ));
                }
                b.open_until = None;
            }
        }
        let result = self.runtime.block_on(async {
            tokio::time::timeout(self.options.deadline, async {
                match &*self.conn {
                    Conn::Standalone(c) => {
                        let mut pipe = redis::pipe();
                        for cmd in cmds {
                            pipe.add_command(cmd.clone());
                        }
                        let mut c = c.clone();
                        pipe.query_async::<Vec<Value>>(&mut c).await
                    }
                    Conn::Cluster(c) => {
                        // one command per key, many in flight at once: the cluster client
                        // routes each to its shard and pipelines them per connection. Its
                        // work per answer grows with the requests in flight (40,000 at once
                        // took 4 s of CPU), so a window of them is in flight at a time.
                        use futures_util::{StreamExt as _, TryStreamExt as _};
                        futures_util::stream::iter(cmds.iter().map(|cmd| {
                            let mut c = c.clone();
                            async move { cmd.query_async::<Value>(&mut c).await }
                        }))
                        .buffered(IN_FLIGHT)
                        .try_collect::<Vec<Value>>()
                        .await
                    }
                }
            })
            .await
        });
        let outcome = match result {
            Ok(Ok(values)) => Ok(values),
            Ok(Err(e)) => Err(err(&self.shown, "command failed", &e)),
            Err(_) => Err(Error::new(
                ErrorKind::Store,
                format!(
                    "redis {}: no answer within the {:?} deadline",
                    self.shown, self.options.deadline
                ),
            )),
        };
        let mut b = self.breaker.lock().map_err(|_| poisoned())?;
        if outcome.is_ok() {
            b.failures = 0;
        } else {
            b.failures += 1;
            if b.failures >= self.options.breaker_failures {
                b.open_until = Some(Instant::now() + self.options.breaker_cooldown);
            }
        }
        outcome
    }

    /// With `replicas`, waits until that many replicas hold every write made so far on the
    /// connections (to every primary, in a cluster; the answer is the least of theirs).
    fn wait_for_replicas(&self) -> Result<(), Error> {
        let want = self.options.replicas;
        if want == 0 {
            return Ok(());
        }
        // leave the outer deadline room to carry the answer back
        let wait_ms =
            u64::try_from((self.options.deadline * 3 / 4).as_millis()).unwrap_or(u64::MAX);
        let mut wait = redis::cmd("WAIT");
        wait.arg(want).arg(wait_ms.max(1));
        let got = match self.run(&[wait])?.first() {
            Some(Value::Int(n)) => *n,
            _ => return Err(err(&self.shown, "unexpected reply", &"WAIT gave no count")),
        };
        if got < i64::from(want) {
            return Err(Error::new(
                ErrorKind::Store,
                format!(
                    "redis {}: {got} of the {want} replicas asked for confirmed the new mappings in time; nothing was masked with them",
                    self.shown
                ),
            ));
        }
        Ok(())
    }
}

/// The URL's own settings: `replicas=N`; anything else is refused rather than ignored.
fn apply_query(query: &str, options: &mut RedisOptions, shown: &str) -> Result<(), Error> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let bad = |what: &str| {
            Error::new(
                ErrorKind::Config,
                format!("{what} in the Redis URL {shown} (the one setting there is replicas=N)"),
            )
        };
        match pair.split_once('=') {
            Some(("replicas", n)) => {
                options.replicas = n
                    .parse()
                    .map_err(|_| bad("replicas is not a whole number"))?;
            }
            _ => {
                return Err(bad(&format!(
                    "unknown setting `{}`",
                    pair.split('=').next().unwrap_or(pair)
                )));
            }
        }
    }
    Ok(())
}

/// Commands in flight at once on a cluster connection.
const IN_FLIGHT: usize = 256;

fn poisoned() -> Error {
    Error::new(
        ErrorKind::Store,
        "redis store poisoned by a panic in another thread",
    )
}

/// `(cluster, tls, rest after "://")`.
fn parse_scheme(url: &str) -> Option<(bool, bool, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (cluster, tls) = match scheme {
        "redis" => (false, false),
        "rediss" => (false, true),
        "redis+cluster" => (true, false),
        "rediss+cluster" => (true, true),
        _ => return None,
    };
    Some((cluster, tls, rest))
}

fn key(ns: &NamespaceId, token: &str) -> String {
    format!("awsmask:v1:{}:{token}", ns.as_str())
}

fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

fn bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b.clone()),
        _ => None,
    }
}

impl MappingStore for RedisStore {
    fn claim(
        &self,
        ns: &NamespaceId,
        claims: &[Claim<'_>],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let secs = ttl_secs(ttl);
        let mut cmds = Vec::with_capacity(claims.len() * 2);
        for c in claims {
            let k = key(ns, c.token);
            let mut set = redis::cmd("SET");
            set.arg(&k)
                .arg(c.sealed)
                .arg("NX")
                .arg("GET")
                .arg("EX")
                .arg(secs);
            cmds.push(set);
            // a mapping that was there lives `ttl` from now too
            let mut expire = redis::cmd("EXPIRE");
            expire.arg(&k).arg(secs);
            cmds.push(expire);
        }
        let replies = self.run(&cmds)?;
        if replies.len() != claims.len() * 2 {
            return Err(err(
                &self.shown,
                "unexpected reply",
                &"wrong number of answers",
            ));
        }
        self.wait_for_replicas()?;
        Ok(replies.chunks(2).map(|r| bytes(&r[0])).collect())
    }

    fn resolve(
        &self,
        ns: &NamespaceId,
        tokens: &[&str],
        ttl: Duration,
    ) -> Result<Vec<Option<Vec<u8>>>, Error> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let secs = ttl_secs(ttl);
        let cmds: Vec<Cmd> = tokens
            .iter()
            .map(|t| {
                let mut c = redis::cmd("GETEX");
                c.arg(key(ns, t)).arg("EX").arg(secs);
                c
            })
            .collect();
        let replies = self.run(&cmds)?;
        if replies.len() != tokens.len() {
            return Err(err(
                &self.shown,
                "unexpected reply",
                &"wrong number of answers",
            ));
        }
        Ok(replies.iter().map(bytes).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("rediss://u:p%23w@h:1/0"),
            "rediss://<credentials>@h:1/0"
        );
        assert_eq!(redact_url("redis://h:1"), "redis://h:1");
        assert_eq!(
            parse_scheme("rediss+cluster://a:1,b:2"),
            Some((true, true, "a:1,b:2"))
        );
        assert_eq!(parse_scheme("http://x"), None);
    }
}
