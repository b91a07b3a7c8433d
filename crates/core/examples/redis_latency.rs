//! Mask latency against a Redis store: a 10 KB prompt with 50 identifiers that the store has
//! not seen (every call claims 50 new values), p50 and p99 over many calls.
//!
//! ```sh
//! eval "$(scripts/redis-testbed.sh start)"
//! cargo run --release -p awsmask --features redis --example redis_latency -- "$AWSMASK_TEST_CLUSTER_URL"
//! ```
#![expect(clippy::print_stdout, reason = "an example that reports its figures")]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use awsmask::store::{RedisOptions, RedisStore};
use awsmask::{MappingStore, Masker, MasterKey};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).ok_or("usage: redis_latency URL")?;
    let calls: usize = std::env::args().nth(2).map_or(Ok(300), |n| n.parse())?;
    let mut options = RedisOptions::default();
    options.ca_file = std::env::var_os("AWSMASK_TEST_CA_FILE").map(Into::into);
    let store: Arc<dyn MappingStore> = Arc::new(RedisStore::connect(&url, options)?);
    let namespace = format!("latency-{}", std::process::id());
    let masker = Masker::builder()
        .store(store)
        .key(MasterKey::random()?)
        .namespace(namespace)
        .build()?;
    let mut times = Vec::with_capacity(calls);
    for call in 0..calls {
        // 50 identifiers no call has used, in about 10 KB of text
        let mut prompt = String::with_capacity(10_240);
        for i in 0..50 {
            let _ = write!(
                prompt,
                "instance i-{:017x} reports an error in the payment service. ",
                call * 50 + i
            );
            while prompt.len() < (i + 1) * 204 {
                prompt.push_str("lorem ipsum ");
            }
        }
        let started = Instant::now();
        let masked = masker.mask(&prompt)?;
        times.push(started.elapsed());
        assert_eq!(masked.total(), 50);
    }
    times.sort_unstable();
    // the q-th quantile, q in percent
    let pick = |q: usize| times[(times.len() - 1) * q / 100];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "mask of a 10 KB prompt with 50 new identifiers, {} calls: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        ms(pick(50)),
        ms(pick(99)),
        ms(pick(100))
    );
    Ok(())
}
