//! The Redis stores against the project's testbed (`scripts/redis-testbed.sh`): they run when
//! its environment is set (`eval "$(scripts/redis-testbed.sh env)"`) and skip otherwise.
#![cfg(feature = "redis")]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use awsmask::store::{RedisOptions, RedisStore, testkit};
use awsmask::{ErrorKind, MappingStore, Masker, MasterKey};

/// The testbed's URL in `var`, or `None` (and a note) when the testbed is not running.
fn url(var: &str) -> Option<String> {
    let v = std::env::var(var).ok();
    if v.is_none() {
        eprintln!("skipping: {var} is not set (start scripts/redis-testbed.sh)");
    }
    v
}

fn options() -> RedisOptions {
    let mut o = RedisOptions::default();
    o.ca_file = std::env::var_os("AWSMASK_TEST_CA_FILE").map(Into::into);
    o.connect_timeout = Duration::from_secs(10);
    o.deadline = Duration::from_secs(10);
    o
}

/// Tests that use the cluster take this lock, so that the one that freezes a primary does
/// not disturb the others.
static CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn cluster_lock() -> std::sync::MutexGuard<'static, ()> {
    CLUSTER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn connect(url: &str) -> RedisStore {
    RedisStore::connect(url, options()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn conformance_plain_acl_user() {
    let Some(u) = url("AWSMASK_TEST_REDIS_URL") else {
        return;
    };
    testkit::run_all(&|| Box::new(connect(&u)));
}

#[test]
fn conformance_plain_default_user() {
    let Some(u) = url("AWSMASK_TEST_REDIS_DEFAULT_URL") else {
        return;
    };
    testkit::run_all(&|| Box::new(connect(&u)));
}

#[test]
fn conformance_tls() {
    let Some(u) = url("AWSMASK_TEST_REDISS_URL") else {
        return;
    };
    testkit::run_all(&|| Box::new(connect(&u)));
}

#[test]
fn conformance_tls_cluster() {
    let Some(u) = url("AWSMASK_TEST_CLUSTER_URL") else {
        return;
    };
    testkit::run_all(&|| Box::new(connect(&u)));
}

/// Every key in the testbed server on `port` (and their values), read with redis-cli.
fn dump(port: &str, tls: bool) -> Vec<(String, Vec<u8>)> {
    let dir = std::env::var("AWSMASK_TESTBED_DIR").unwrap();
    let cli = |args: &[&str]| {
        let mut c = Command::new("redis-cli");
        c.env("REDISCLI_AUTH", "testbed-pass").args([
            "--no-auth-warning",
            "-h",
            "127.0.0.1",
            "-p",
            port,
        ]);
        if tls {
            c.args(["--tls", "--cacert", &format!("{dir}/ca.crt")]);
        }
        c.args(args).output().unwrap().stdout
    };
    let keys = String::from_utf8(cli(&["--scan", "--pattern", "awsmask:*"])).unwrap();
    keys.lines()
        .map(|k| (k.to_owned(), cli(&["GET", k])))
        .collect()
}

#[test]
fn nothing_in_clear_in_redis() {
    let (Some(plain), Some(cluster)) = (
        url("AWSMASK_TEST_REDIS_URL"),
        url("AWSMASK_TEST_CLUSTER_URL"),
    ) else {
        return;
    };
    let text =
        "i-0123456789abcdef0 in vpc-0a1b2c3d, account 123456789012, bucket s3://acme-secret-logs/x";
    let values = [
        "i-0123456789abcdef0",
        "vpc-0a1b2c3d",
        "123456789012",
        "acme-secret-logs",
    ];
    let namespace = format!("tenant-clear-{}", std::process::id());
    for (u, ports, tls) in [
        (plain, vec!["7400"], false),
        (
            cluster,
            vec!["7410", "7411", "7412", "7413", "7414", "7415"],
            true,
        ),
    ] {
        let store: Arc<dyn MappingStore> = Arc::new(connect(&u));
        let m = Masker::builder()
            .store(store)
            .key(MasterKey::from_bytes([1; 32]))
            .namespace(&namespace)
            .build()
            .unwrap();
        let masked = m.mask(text).unwrap();
        assert_eq!(m.unmask(masked.text()).unwrap(), text);
        let mut seen = 0;
        for p in &ports {
            for (k, v) in dump(p, tls) {
                seen += 1;
                assert!(!k.contains(&namespace), "namespace name in key {k}");
                for value in values {
                    assert!(!k.contains(value), "{value} in key {k}");
                    assert!(
                        !v.windows(value.len()).any(|w| w == value.as_bytes()),
                        "{value} in the value of {k}"
                    );
                }
            }
        }
        assert!(seen >= values.len());
    }
}

#[test]
fn maskers_on_two_connections_agree() {
    let Some(u) = url("AWSMASK_TEST_CLUSTER_URL") else {
        return;
    };
    let make = || {
        let store: Arc<dyn MappingStore> = Arc::new(connect(&u));
        Masker::builder()
            .store(store)
            .key(MasterKey::from_bytes([2; 32]))
            .namespace("agree")
            .build()
            .unwrap()
    };
    let (a, b) = (make(), make());
    let text: String = (0..50)
        .map(|i| format!("subnet-{i:017x} "))
        .collect::<Vec<_>>()
        .concat();
    let masked = a.mask(&text).unwrap();
    assert_eq!(b.mask(&text).unwrap().text(), masked.text());
    assert_eq!(b.unmask(masked.text()).unwrap(), text);
}

#[test]
fn clear_errors_without_secrets() {
    let Some(u) = url("AWSMASK_TEST_REDIS_URL") else {
        return;
    };
    // a wrong password
    let wrong = u.replace("u%23s", "nope");
    let e = RedisStore::connect(&wrong, options()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store);
    let msg = e.to_string();
    assert!(
        msg.contains("127.0.0.1:7400") && !msg.contains("nope") && !msg.contains("pw%3E"),
        "{msg}"
    );
    // a dead port fails quickly
    let started = Instant::now();
    let e = RedisStore::connect("redis://127.0.0.1:1/0", options()).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(e.to_string().contains("cannot connect"), "{e}");
    // TLS against a CA that did not sign the server
    if let Some(tls) = url("AWSMASK_TEST_REDISS_URL") {
        let mut o = options();
        o.ca_file = None;
        let e = RedisStore::connect(&tls, o).unwrap_err();
        assert!(e.to_string().contains("cannot connect"), "{e}");
    }
}

/// A cluster primary's pid and port, read from the testbed.
fn a_primary() -> (u32, u16) {
    let dir = std::env::var("AWSMASK_TESTBED_DIR").unwrap();
    for i in 0..6u16 {
        let port = 7410 + i;
        let out = Command::new("redis-cli")
            .env("REDISCLI_AUTH", "testbed-pass")
            .args([
                "--no-auth-warning",
                "--tls",
                "--cacert",
                &format!("{dir}/ca.crt"),
                "-h",
                "127.0.0.1",
            ])
            .args(["-p", &port.to_string(), "ROLE"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout).starts_with("master") {
            let pid = std::fs::read_to_string(format!("{dir}/node{i}/redis.pid")).unwrap();
            return (pid.trim().parse().unwrap(), port);
        }
    }
    panic!("no primary answers");
}

fn signal(pid: u32, sig: &str) {
    assert!(
        Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn a_frozen_primary_fails_within_the_deadline_and_recovers() {
    let Some(u) = url("AWSMASK_TEST_CLUSTER_URL") else {
        return;
    };
    let _lock = cluster_lock();
    let mut o = options();
    o.deadline = Duration::from_secs(2);
    o.breaker_failures = 1000;
    let store: Arc<dyn MappingStore> =
        Arc::new(RedisStore::connect(&u, o).unwrap_or_else(|e| panic!("{e}")));
    let m = Masker::builder()
        .store(store)
        .key(MasterKey::from_bytes([3; 32]))
        .namespace("freeze")
        .build()
        .unwrap();
    let (pid, _) = a_primary();
    signal(pid, "-STOP");
    // values spread over every shard, so some keys live on the frozen primary
    let text: String = (0..64)
        .map(|i| format!("vol-{i:017x} "))
        .collect::<Vec<_>>()
        .concat();
    let started = Instant::now();
    let result = m.mask(&text);
    let took = started.elapsed();
    signal(pid, "-CONT");
    assert!(
        took < Duration::from_secs(4),
        "a call took {took:?} with a 2 s deadline"
    );
    if let Ok(masked) = &result {
        // a failover may have happened in time: then the answer must be right
        assert_eq!(m.unmask(masked.text()).unwrap(), text);
    }
    // service comes back once the primary runs again (or its replica took over)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match m.mask(&text) {
            Ok(masked) => {
                assert_eq!(m.unmask(masked.text()).unwrap(), text);
                break;
            }
            Err(e) => assert!(Instant::now() < deadline, "no recovery: {e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `?replicas=N`: a claim counts only once N replicas hold it. The cluster has a replica per
/// shard, so one is confirmed; the standalone server has none, so the claim fails and
/// nothing is masked; a setting the URL does not know is refused.
#[test]
fn claims_wait_for_the_replicas_asked_for() {
    let (Some(plain), Some(cluster)) = (
        url("AWSMASK_TEST_REDIS_URL"),
        url("AWSMASK_TEST_CLUSTER_URL"),
    ) else {
        return;
    };
    let masker = |u: &str| {
        let store: Arc<dyn MappingStore> = Arc::new(connect(u));
        Masker::builder()
            .store(store)
            .key(MasterKey::from_bytes([3; 32]))
            .namespace(format!("replicas-{}", std::process::id()))
            .build()
            .unwrap()
    };
    let text = "i-0a1b2c3d4e5f60718 and vpc-0a1b2c3d in 10.1.2.3";
    {
        let _guard = cluster_lock();
        let m = masker(&format!("{cluster}?replicas=1"));
        let masked = m.mask(text).unwrap();
        assert_eq!(masked.total(), 3);
        assert_eq!(m.unmask(masked.text()).unwrap(), text);
    }
    let m = masker(&format!("{plain}?replicas=1"));
    let e = m.mask(text).expect_err("no replica to confirm");
    assert_eq!(e.kind(), ErrorKind::Store);
    assert!(e.to_string().contains("0 of the 1 replicas"), "{e}");
    assert!(!e.to_string().contains("i-0a1b2c3d4e5f60718"), "{e}");
    for bad in ["?replica=1", "?replicas=one", "?replicas=1&tls=no"] {
        let e = RedisStore::connect(&format!("{plain}{bad}"), options()).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Config, "{bad}: {e}");
        assert!(!e.to_string().contains("u#s"), "{e}");
    }
}
