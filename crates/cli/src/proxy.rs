//! `awsmask proxy`: a reverse proxy in front of the Claude Messages API.
//!
//! Request bodies of `POST /v1/messages` and `/v1/messages/count_tokens` leave with their
//! identifiers masked; answers come back unmasked, streamed ones event by event. Every other
//! route passes through unchanged. Masking and unmasking run on tokio's blocking pool: the
//! store calls they make block.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use awsmask::{ErrorKind, Masker};
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};

use crate::mask::StoreArgs;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

#[derive(clap::Args, Debug)]
pub(crate) struct ProxyArgs {
    /// Address and port to listen on (port 0: any free port; the address is logged).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// The Messages API to forward to: `https://HOST[:PORT][/PATH]` (`http://` for a server
    /// on this machine).
    #[arg(
        long,
        env = "AWSMASK_UPSTREAM",
        value_name = "URL",
        default_value = "https://api.anthropic.com"
    )]
    upstream: String,
    /// A CA certificate (PEM) to verify the upstream with, instead of the system roots.
    /// Verification is always on.
    #[arg(long, value_name = "PATH")]
    upstream_ca_file: Option<PathBuf>,
    /// Let each request choose its namespace with an `x-awsmask-namespace` header (one per
    /// tenant or conversation). Without this flag the header is ignored, and it is never
    /// forwarded.
    #[arg(long)]
    namespace_header: bool,
    /// Forward requests with a body to routes other than the two masked ones (the Files API,
    /// Message Batches, ...) as they are, unmasked. Without this flag they are refused with
    /// HTTP 403 and nothing is sent; requests without a body always pass.
    #[arg(long)]
    pass_unmasked: bool,
    /// The largest request body accepted, in bytes; larger ones get HTTP 413.
    #[arg(long, value_name = "BYTES", default_value_t = 32 << 20)]
    max_body_bytes: usize,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    kinds: crate::KindArgs,
}

/// Runs the proxy until SIGTERM or Ctrl-C, then lets the requests in flight finish (for at
/// most 30 seconds).
pub(crate) fn run(args: &ProxyArgs) -> anyhow::Result<u8> {
    // the masker is built before the runtime: opening a store may block
    let masker = args.store.masker(&args.kinds)?;
    // dropped after the runtime: a Redis store runs a runtime of its own, which must not be
    // dropped from async code
    let _store_owner = masker.clone();
    let upstream = Upstream::parse(&args.upstream)?;
    let connector = connector(args.upstream_ca_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the proxy's runtime")?;
    runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let proxy = Arc::new(Proxy {
            masker,
            namespaces: Mutex::new(HashMap::new()),
            namespace_header: args.namespace_header,
            pass_unmasked: args.pass_unmasked,
            upstream,
            client,
            max_body: args.max_body_bytes,
        });
        serve(proxy, args.listen).await
    })?;
    Ok(crate::exit::NONE_FOUND)
}

async fn serve(proxy: Arc<Proxy>, listen: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    log_line(&format!(
        "{{\"event\":\"listening\",\"addr\":\"{addr}\",\"upstream\":{}}}",
        awsmask_json_str(&proxy.upstream.shown)
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // each event of a streamed answer goes out at once (Nagle's algorithm held
                // them for the client's delayed ACK: 40 ms before the first text)
                let _ = stream.set_nodelay(true);
                let proxy = Arc::clone(&proxy);
                let service = hyper::service::service_fn(move |req| {
                    let proxy = Arc::clone(&proxy);
                    async move { Ok::<_, std::convert::Infallible>(proxy.handle(req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = term.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    drop(listener);
    log_line("{\"event\":\"shutting_down\"}");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            log_line("{\"event\":\"shutdown_timeout\"}");
        }
    }
    Ok(())
}

/// The upstream's scheme, host and base path.
struct Upstream {
    scheme: hyper::http::uri::Scheme,
    authority: hyper::http::uri::Authority,
    /// a path prefix, without a trailing slash
    base: String,
    /// how it is shown in logs
    shown: String,
}

impl Upstream {
    fn parse(url: &str) -> anyhow::Result<Upstream> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("--upstream is not a URL: {url:?}"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            bail!("--upstream needs a scheme and a host, such as https://api.anthropic.com");
        };
        if scheme != &hyper::http::uri::Scheme::HTTPS && scheme != &hyper::http::uri::Scheme::HTTP {
            bail!("--upstream must be an http:// or https:// URL");
        }
        if authority.as_str().contains('@') {
            bail!("--upstream must not hold credentials; the client's headers are forwarded");
        }
        if uri.query().is_some() {
            bail!("--upstream must not have a query");
        }
        Ok(Upstream {
            scheme: scheme.clone(),
            authority: authority.clone(),
            base: uri.path().trim_end_matches('/').to_owned(),
            shown: format!("{scheme}://{authority}{}", uri.path().trim_end_matches('/')),
        })
    }

    fn uri_for(&self, path_and_query: &str) -> anyhow::Result<Uri> {
        Ok(Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path_and_query}", self.base))
            .build()?)
    }
}

/// The HTTPS (and plain HTTP) connector to the upstream: rustls with ring, verifying
/// against the system roots or the given CA.
fn connector(ca_file: Option<&Path>) -> anyhow::Result<HttpsConnector<HttpConnector>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let builder = match ca_file {
        Some(path) => {
            use rustls_pki_types::pem::PemObject as _;
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pki_types::CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read {}", path.display()))?
            {
                roots
                    .add(cert.with_context(|| format!("bad PEM in {}", path.display()))?)
                    .with_context(|| format!("bad certificate in {}", path.display()))?;
            }
            if roots.is_empty() {
                bail!("no certificate in {}", path.display());
            }
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            builder.with_tls_config(config)
        }
        None => builder
            .with_provider_and_native_roots(provider)
            .context("cannot load the system's root certificates")?,
    };
    // small writes (events of a streamed answer) go out at once, not after a delayed ACK
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    Ok(builder.https_or_http().enable_http1().wrap_connector(http))
}

struct Proxy {
    masker: Masker,
    /// maskers of namespaces chosen by a header, built on first use
    namespaces: Mutex<HashMap<String, Masker>>,
    namespace_header: bool,
    /// forward bodies of other routes unmasked
    pass_unmasked: bool,
    upstream: Upstream,
    client: Client<HttpsConnector<HttpConnector>, Body>,
    max_body: usize,
}

/// Which routes a request takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    Healthz,
    Messages,
    CountTokens,
    Other,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::Healthz => "healthz",
            Route::Messages => "messages",
            Route::CountTokens => "count_tokens",
            Route::Other => "other",
        }
    }
}

/// What a request's log line says besides its route, status and time.
#[derive(Default)]
struct Note {
    masked: usize,
    streamed: bool,
    upstream_ms: Option<f64>,
    refused: Option<&'static str>,
}

const NAMESPACE_HEADER: &str = "x-awsmask-namespace";

impl Proxy {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let path = req.uri().path();
        let route = match (req.method(), path) {
            (&Method::GET, "/healthz") => Route::Healthz,
            (&Method::POST, "/v1/messages") => Route::Messages,
            (&Method::POST, "/v1/messages/count_tokens") => Route::CountTokens,
            _ => Route::Other,
        };
        let mut note = Note::default();
        let resp = match route {
            Route::Healthz => json_response(StatusCode::OK, "{\"status\":\"ok\"}".to_owned()),
            Route::Messages | Route::CountTokens => self.masked(req, &mut note).await,
            Route::Other => self.pass(req, &mut note).await,
        };
        let mut line = format!(
            "{{\"event\":\"request\",\"route\":\"{}\",\"status\":{},\"ms\":{:.2},\"masked\":{},\"streamed\":{}",
            route.name(),
            resp.status().as_u16(),
            started.elapsed().as_secs_f64() * 1e3,
            note.masked,
            note.streamed,
        );
        if let Some(ms) = note.upstream_ms {
            let _ = write!(line, ",\"upstream_ms\":{ms:.2}");
        }
        if let Some(why) = note.refused {
            let _ = write!(line, ",\"refused\":\"{why}\"");
        }
        line.push('}');
        log_line(&line);
        resp
    }

    /// The masker of the request's namespace.
    fn masker_for(&self, headers: &HeaderMap) -> Result<Masker, Box<Response<Body>>> {
        let Some(value) = headers
            .get(NAMESPACE_HEADER)
            .filter(|_| self.namespace_header)
        else {
            return Ok(self.masker.clone());
        };
        let bad = || {
            Box::new(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "awsmask: x-awsmask-namespace must be 1 to 256 visible ASCII characters",
            ))
        };
        let ns = value.to_str().map_err(|_| bad())?;
        if ns.is_empty() || ns.len() > 256 || !ns.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad());
        }
        let mut map = self
            .namespaces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = map.get(ns) {
            return Ok(m.clone());
        }
        let m = self.masker.with_namespace(ns).map_err(|_| bad())?;
        // a bound on what clients can make this keep
        if map.len() >= 4096 {
            map.clear();
        }
        map.insert(ns.to_owned(), m.clone());
        Ok(m)
    }

    /// A Messages API request: masked on its way out, its answer unmasked on its way back.
    async fn masked(&self, req: Request<Incoming>, note: &mut Note) -> Response<Body> {
        let masker = match self.masker_for(req.headers()) {
            Ok(m) => m,
            Err(resp) => return *resp,
        };
        let (parts, body) = req.into_parts();
        let bytes = match Limited::new(body, self.max_body).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                note.refused = Some("too_large");
                return api_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request_too_large",
                    &format!(
                        "awsmask: the request body is larger than {} bytes",
                        self.max_body
                    ),
                );
            }
            Err(_) => {
                note.refused = Some("unreadable");
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "awsmask: the request body could not be read",
                );
            }
        };
        if std::str::from_utf8(&bytes).is_err() {
            note.refused = Some("not_utf8");
            return api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "awsmask: the request body is not UTF-8",
            );
        }
        let m = masker.clone();
        let masked = tokio::task::spawn_blocking(move || {
            let text = std::str::from_utf8(&bytes).unwrap_or_default();
            m.mask_request_json(text).map(|x| {
                let n = x.total();
                match x.into_text() {
                    // nothing masked: the body as it came, not a copy
                    std::borrow::Cow::Borrowed(_) => (bytes.clone(), n),
                    std::borrow::Cow::Owned(s) => (Bytes::from(s), n),
                }
            })
        })
        .await;
        let body = match masked {
            Ok(Ok((body, n))) => {
                note.masked = n;
                body
            }
            Ok(Err(e)) if e.kind() == ErrorKind::Input => {
                note.refused = Some("bad_json");
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    &format!("awsmask: {e}; nothing was sent"),
                );
            }
            Ok(Err(e)) => {
                note.refused = Some("store");
                return api_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "api_error",
                    &format!("awsmask could not mask the request, nothing was sent: {e}"),
                );
            }
            Err(_) => {
                return api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "api_error",
                    "awsmask: masking failed",
                );
            }
        };
        let upstream_req = match self.request(&parts, full(body)) {
            Ok(r) => r,
            Err(resp) => return *resp,
        };
        let sent = Instant::now();
        let Ok(resp) = self.client.request(upstream_req).await else {
            return unreachable_upstream();
        };
        note.upstream_ms = Some(sent.elapsed().as_secs_f64() * 1e3);
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if parts
            .headers
            .get(header::CONTENT_ENCODING)
            .is_some_and(|e| e != "identity")
        {
            return api_error(
                StatusCode::BAD_GATEWAY,
                "api_error",
                "awsmask: the upstream answered with a compressed body it was asked not to send",
            );
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if content_type.starts_with("text/event-stream") {
            note.streamed = true;
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, unmask_events(masker, body));
        }
        if !(parts.status.is_success() && content_type.starts_with("application/json")) {
            return Response::from_parts(parts, body.map_err(BoxError::from).boxed());
        }
        let bytes = match Limited::new(body, 256 << 20).collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => return unreachable_upstream(),
        };
        let unmasked = tokio::task::spawn_blocking(move || {
            let text = std::str::from_utf8(&bytes).map_err(|_| ())?;
            masker
                .unmask_response_json(text)
                .map(std::borrow::Cow::into_owned)
                .map_err(|_| ())
        })
        .await;
        let Ok(Ok(text)) = unmasked else {
            return api_error(
                StatusCode::BAD_GATEWAY,
                "api_error",
                "awsmask could not unmask the answer",
            );
        };
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(text.len() as u64));
        Response::from_parts(parts, full(Bytes::from(text)))
    }

    /// Any other route: forwarded and answered unchanged, streaming both ways. A body would
    /// leave unmasked, so a request with one is refused unless `--pass-unmasked` was given.
    async fn pass(&self, req: Request<Incoming>, note: &mut Note) -> Response<Body> {
        if !self.pass_unmasked && !has_no_body(req.body()) {
            note.refused = Some("unmasked_body");
            return api_error(
                StatusCode::FORBIDDEN,
                "permission_error",
                "awsmask: only the bodies of POST /v1/messages and /v1/messages/count_tokens \
                 are masked; this request's body would leave unmasked, so nothing was sent \
                 (start the proxy with --pass-unmasked to forward such requests as they are)",
            );
        }
        let (parts, body) = req.into_parts();
        let upstream_req = match self.request(&parts, body.map_err(BoxError::from).boxed()) {
            Ok(r) => r,
            Err(resp) => return *resp,
        };
        let sent = Instant::now();
        match self.client.request(upstream_req).await {
            Ok(resp) => {
                note.upstream_ms = Some(sent.elapsed().as_secs_f64() * 1e3);
                let (mut parts, body) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, body.map_err(BoxError::from).boxed())
            }
            Err(_) => unreachable_upstream(),
        }
    }

    /// The request to send upstream: the client's method, path, query and headers (less the
    /// hop-by-hop ones, `host` and ours), asking for an uncompressed answer.
    fn request(
        &self,
        parts: &hyper::http::request::Parts,
        body: Body,
    ) -> Result<Request<Body>, Box<Response<Body>>> {
        let pq = parts
            .uri
            .path_and_query()
            .map_or("/", hyper::http::uri::PathAndQuery::as_str);
        let uri = self.upstream.uri_for(pq).map_err(|_| {
            Box::new(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "awsmask: bad request path",
            ))
        })?;
        let mut req = Request::new(body);
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = uri;
        let headers = req.headers_mut();
        for (name, value) in &parts.headers {
            if name == header::HOST
                || name == header::CONTENT_LENGTH
                || name == header::ACCEPT_ENCODING
                || name.as_str() == NAMESPACE_HEADER
                || is_hop_by_hop(name)
            {
                continue;
            }
            headers.append(name.clone(), value.clone());
        }
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("identity"),
        );
        Ok(req)
    }
}

/// The answer's events with their tokens restored, as they arrive. A failure part way (the
/// store, a broken event) ends the stream with an `error` event.
fn unmask_events(masker: Masker, mut body: Incoming) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(16);
    tokio::spawn(async move {
        let mut sse = masker.sse_unmasker();
        loop {
            let chunk = match body.frame().await {
                None => None,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => Some(data),
                    Err(_) => continue,
                },
                Some(Err(e)) => {
                    let _ = tx.send(Err(BoxError::from(e))).await;
                    return;
                }
            };
            let done = chunk.is_none();
            let step = tokio::task::spawn_blocking(move || {
                let out = match &chunk {
                    Some(data) => sse.push(data),
                    None => sse.finish(),
                };
                (sse, out)
            })
            .await;
            let Ok((back, out)) = step else { return };
            sse = back;
            let frame = match out {
                Ok(out) if out.is_empty() => None,
                Ok(out) => Some(Bytes::from(out)),
                Err(e) => {
                    let mut msg = String::new();
                    msg.push_str("awsmask could not unmask the answer: ");
                    msg.push_str(&e.to_string());
                    let event = format!(
                        "event: error\ndata: {{\"type\":\"error\",\"error\":{{\"type\":\"api_error\",\"message\":{}}}}}\n\n",
                        awsmask_json_str(&msg)
                    );
                    let _ = tx.send(Ok(Frame::data(Bytes::from(event)))).await;
                    return;
                }
            };
            if let Some(data) = frame
                && tx.send(Ok(Frame::data(data))).await.is_err()
            {
                // the client left
                return;
            }
            if done {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    StreamBody::new(stream).boxed()
}

/// Whether a request carries no body: none at all, or a length of 0. A body of unknown
/// length (chunked) counts as one, even if it turns out empty.
fn has_no_body(body: &Incoming) -> bool {
    use hyper::body::Body as _;
    body.size_hint().exact() == Some(0)
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(full(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// An error shaped as the Messages API shapes its own, so that SDKs report it.
fn api_error(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        format!(
            "{{\"type\":\"error\",\"error\":{{\"type\":\"{kind}\",\"message\":{}}}}}",
            awsmask_json_str(message)
        ),
    )
}

fn unreachable_upstream() -> Response<Body> {
    api_error(
        StatusCode::BAD_GATEWAY,
        "api_error",
        "awsmask: the upstream could not be reached or broke off",
    )
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let hop: Vec<HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n))
        .cloned()
        .collect();
    for name in hop {
        headers.remove(name);
    }
}

fn awsmask_json_str(s: &str) -> String {
    crate::scan::json_str(s.as_bytes())
}

/// One structured log line on stderr: JSON, never a value from a body or a header.
fn log_line(line: &str) {
    #[expect(clippy::print_stderr, reason = "the proxy logs on stderr")]
    {
        eprintln!("{line}");
    }
}
