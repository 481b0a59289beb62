//! A real `mouthpiece serve` for the API tests: a fresh data directory
//! and key, a free port, on the embedded defaults or (with
//! `MOUTHPIECE_TEST_DISTRIBUTED` set) on a Postgres and S3 server of its
//! own; and the client helpers the API tests share: calls in each
//! version's manner, uploads, polling, the OpenAPI contract, a webhook
//! receiver.

use super::free_port;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ASTRONAUT: &[u8] = include_bytes!("../../../../assets/portraits/astronaut.png");
pub const BIN: &str = env!("CARGO_BIN_EXE_mouthpiece");

pub struct Server {
    pub child: Child,
    pub base: String,
    pub key: String,
    pub data_dir: tempfile::TempDir,
    /// The database and bucket, in distributed mode.
    pub services: Option<super::Services>,
}

impl Server {
    /// Kills the server with SIGKILL, as a crash would, and starts it again
    /// on the same port and data directory.
    pub async fn crash_and_restart(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
        let port: u16 = self.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.child = spawn_serve(self.data_dir.path(), self.services.as_ref(), port, &[]);
        wait_until_up(&self.base).await;
    }

    /// A second API key (another tenant) on the same server.
    pub fn another_key(&self) -> String {
        self.keys(&["create"]).lines().last().expect("key line").trim().to_string()
    }

    /// Runs `mouthpiece keys ARGS --data-dir <this server's>` and returns its output.
    pub fn keys(&self, args: &[&str]) -> String {
        let output = cli(self.data_dir.path(), self.services.as_ref()).arg("keys").args(args).output().expect("keys");
        assert!(output.status.success(), "keys {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn start_server() -> Server {
    start_server_with(&[]).await
}

pub async fn start_server_with(flags: &'static [&'static str]) -> Server {
    // reqwest is built with rustls and no default crypto provider (see the workspace Cargo.toml).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = tempfile::tempdir().expect("temp dir");
    let services = super::Services::from_env();
    let created = cli(data.path(), services.as_ref()).args(["keys", "create"]).output().expect("keys create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stdout = String::from_utf8_lossy(&created.stdout).to_string();
    let key = stdout.lines().last().expect("key line").trim().to_string();
    assert!(key.starts_with("mp_"), "the key is alone on the last line: {stdout}");
    let port = free_port();
    let child = spawn_serve(data.path(), services.as_ref(), port, flags);
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&base).await;
    Server { child, base, key, data_dir: data, services }
}

/// `mouthpiece` with the data directory given by the environment (so it
/// goes before or after any subcommand) and, in distributed mode, the
/// database and bucket.
pub fn cli(data: &Path, services: Option<&super::Services>) -> Command {
    let mut command = Command::new(BIN);
    command.env("MOUTHPIECE_DATA_DIR", data);
    if let Some(services) = services {
        services.configure(&mut command);
    }
    command
}

pub fn spawn_serve(data: &Path, services: Option<&super::Services>, port: u16, flags: &[&str]) -> Child {
    cli(data, services)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env("MOUTHPIECE_LOG", "warn")
        .spawn()
        .expect("start server")
}

pub async fn wait_until_up(base: &str) {
    super::wait_until_up(&format!("{base}/healthz"), Duration::from_secs(30)).await
}

/// A client sending exactly the original app's headers.
pub fn app_request(server: &Server, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.base))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("X-Api-Key", &server.key)
}

/// One call with the app's headers and an optional JSON body.
pub async fn call(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app_request(server, method, path);
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.expect(path)).await
}

/// A live-session call to `base`: POST `body` with the session token as a bearer token.
pub async fn session_call(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let request = reqwest::Client::new().post(format!("{base}{path}")).bearer_auth(token).json(&body);
    json_of(request.send().await.expect(path)).await
}

pub async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON reply, got {status}: {text}")))
}

pub async fn upload(server: &Server, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/asset", server.base))
        .header("X-Api-Key", &server.key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("upload");
    json_of(response).await
}

pub async fn create_avatar(server: &Server, photo: Vec<u8>) -> String {
    let (status, asset) = upload(server, "image/png", photo).await;
    assert_eq!(status, 200, "{asset}");
    let image_key = asset["data"]["image_key"].as_str().expect("image_key").to_string();
    let (status, group) = call(
        server,
        reqwest::Method::POST,
        "/v2/photo_avatar/avatar_group/create",
        Some(json!({"name": "Test avatar", "image_key": image_key})),
    )
    .await;
    assert_eq!(status, 200, "{group}");
    assert!(group["error"].is_null());
    group["data"]["id"].as_str().expect("group id").to_string()
}

pub async fn download(url: &str, to: &Path) {
    let response = reqwest::get(url).await.expect("download");
    assert_eq!(response.status().as_u16(), 200, "{url}");
    std::fs::write(to, response.bytes().await.expect("bytes")).expect("write");
}

/// Every frame of a video as RGB24.
pub fn decode_frames(video: &Path, width: usize, height: usize) -> Vec<Vec<u8>> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg decode");
    assert!(output.status.success());
    output.stdout.chunks_exact(width * height * 3).map(<[u8]>::to_vec).collect()
}

pub async fn generate(server: &Server, body: Value) -> (u16, Value) {
    call(server, reqwest::Method::POST, "/v2/video/generate", Some(body)).await
}

/// Polls a video until it completes and returns its status data.
pub async fn wait_for_video(server: &Server, video_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (_, reply) =
            call(server, reqwest::Method::GET, &format!("/v1/video_status.get?video_id={video_id}"), None).await;
        match reply["data"]["status"].as_str() {
            Some("completed") => return reply["data"].clone(),
            Some("pending" | "processing") => {}
            other => panic!("unexpected status {other:?}: {reply}"),
        }
        assert!(Instant::now() < deadline, "video not done in time");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn call_as(server: &Server, key: &str, method: reqwest::Method, path: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base))
        .header("X-Api-Key", key)
        .send()
        .await
        .expect(path);
    json_of(response).await
}

/// One HTTP request a test receiver got.
#[derive(Debug)]
pub struct Received {
    pub path: String,
    pub signature: String,
    pub body: String,
}

/// A webhook receiver on a free local port: answers 500 to the first
/// request on `/hook` (to make the server retry) and 200 to everything else.
pub async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Received>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut refused_once = false;
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut data = Vec::new();
            let mut buffer = [0u8; 4096];
            // Read the head, then as much body as Content-Length says.
            let (head, body) = loop {
                let n = stream.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), Vec::new());
                }
                data.extend_from_slice(&buffer[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&data[..end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    while data.len() < end + 4 + length {
                        let n = stream.read(&mut buffer).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        data.extend_from_slice(&buffer[..n]);
                    }
                    break (head, data[end + 4..].to_vec());
                }
            };
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            let signature = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().starts_with("signature:").then(|| l[10..].trim().to_string()))
                .unwrap_or_default();
            let refuse = path == "/hook" && !refused_once;
            refused_once |= refuse;
            let status = if refuse { "500 Internal Server Error" } else { "200 OK" };
            let _ = stream
                .write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes())
                .await;
            if !refuse {
                let _ = tx.send(Received { path, signature, body: String::from_utf8_lossy(&body).to_string() });
            }
        }
    });
    (base, rx)
}

pub fn hmac_hex(secret: &str, body: &str) -> String {
    // HMAC-SHA256 by its definition (RFC 2104), to check the server's signature independently.
    use sha2::{Digest, Sha256};
    let mut key = secret.as_bytes().to_vec();
    if key.len() > 64 {
        key = Sha256::digest(&key).to_vec();
    }
    key.resize(64, 0);
    let inner: Vec<u8> = key.iter().map(|b| b ^ 0x36).chain(body.bytes()).collect();
    let inner_hash = Sha256::digest(&inner);
    let outer: Vec<u8> = key.iter().map(|b| b ^ 0x5c).chain(inner_hash.iter().copied()).collect();
    Sha256::digest(&outer).iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's own OpenAPI document, which holds the reply contract.
pub struct Contract {
    pub document: Value,
}

impl Contract {
    pub async fn fetch(server: &Server) -> Contract {
        let (status, document) = call(server, reqwest::Method::GET, "/openapi.json", None).await;
        assert_eq!(status, 200, "{document}");
        Contract { document }
    }

    /// Fails the test if `reply` is not what the document promises for
    /// `method path` answering `status`.
    pub fn check(&self, method: &str, path: &str, status: u16, reply: &Value) {
        let operation = &self.document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not in the OpenAPI document");
        let schema = &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
        assert!(schema.is_object(), "{method} {path} documents no {status} reply; it sent {reply}");
        // The schema with the document's components beside it, so its $refs resolve.
        let mut root = schema.clone();
        root["components"] = self.document["components"].clone();
        let validator = jsonschema::options().should_validate_formats(true).build(&root).expect("valid schema");
        let problems: Vec<String> =
            validator.iter_errors(reply).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(problems.is_empty(), "{method} {path} {status} breaks the contract: {problems:?}\n{reply}");
    }
}

/// A v3 call with the key as HeyGen's v3 clients may send it: a bearer token.
pub async fn call_v3(server: &Server, path: &str) -> (u16, Value) {
    let request = reqwest::Client::new().get(format!("{}{path}", server.base)).bearer_auth(&server.key);
    json_of(request.send().await.expect(path)).await
}

/// A v3 error: the status, and `code` and `param` of its `error`.
pub fn assert_v3_error(reply: &(u16, Value), status: u16, code: &str, param: Option<&str>) {
    let (got, body) = reply;
    assert_eq!(*got, status, "{body}");
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["param"].as_str(), param, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()) && error["doc_url"].is_string(), "{body}");
    assert!(body.get("data").is_none(), "a v3 error has no data: {body}");
}

/// Every item of a v3 list, walked two at a time from `path` (which has
/// no query of its own) by following `next_token`; each page is checked
/// against the contract, holds at most two items, and has more exactly
/// when it gives a token.
pub async fn v3_list_all(server: &Server, contract: &Contract, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = format!("{path}?limit=2");
    loop {
        let (status, page) = call_v3(server, &next).await;
        contract.check("get", path, status, &page);
        let shown = page["data"].as_array().expect("data");
        assert!(shown.len() <= 2, "{page}");
        items.extend(shown.iter().cloned());
        let has_more = page["has_more"].as_bool().expect("has_more");
        assert_eq!(has_more, page["next_token"].is_string(), "{page}");
        match page["next_token"].as_str() {
            Some(token) => next = format!("{path}?limit=2&token={token}"),
            None => return items,
        }
    }
}
