//! Distributed mode against real services: a throwaway Postgres cluster
//! (Debian's `postgresql`, started with `initdb` and `pg_ctl`) and a real
//! S3-compatible server (`s3s-fs`, installed by scripts/test-env.sh), with
//! `mouthpiece serve` front ends and `mouthpiece worker` processes as
//! separate processes. Faults are real too: SIGKILL of a worker in the
//! middle of a render, the database restarting, the S3 server going away.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ASTRONAUT: &[u8] = include_bytes!("../../../assets/portraits/astronaut.png");
const BIN: &str = env!("CARGO_BIN_EXE_mouthpiece");

mod support;

use support::server::session_call;
use support::{BUCKET, Services, free_port, run};

/// A `mouthpiece serve` or `mouthpiece worker` process of the deployment.
struct Process {
    child: Child,
    _scratch: tempfile::TempDir,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A deployment: one database, one bucket, and the processes sharing them.
struct Deployment {
    services: Services,
    key: String,
}

impl Deployment {
    fn start() -> Deployment {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut deployment = Deployment { services: Services::start(), key: String::new() };
        let output = run(deployment.command("keys").args(["create", "--name", "distributed"]));
        deployment.key = output.lines().last().expect("key").trim().to_string();
        assert!(deployment.key.starts_with("mp_"), "{output}");
        deployment
    }

    /// `mouthpiece <subcommand>` configured for this deployment through the environment.
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(BIN);
        self.services.configure(command.arg(subcommand).env("MOUTHPIECE_LOG", "warn"));
        command
    }

    fn spawn(&self, subcommand: &str, args: &[&str]) -> Process {
        let scratch = tempfile::tempdir().expect("scratch");
        let child = self
            .command(subcommand)
            .arg("--data-dir")
            .arg(scratch.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        Process { child, _scratch: scratch }
    }

    /// A front end with no workers of its own; returns it and its base URL.
    async fn front_end(&self, args: &[&str]) -> (Process, String) {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["--listen", listen.as_str(), "--workers", "0", "--allow-private-urls"];
        all.extend_from_slice(args);
        let process = self.spawn("serve", &all);
        let base = format!("http://{listen}");
        wait_until_up(&format!("{base}/healthz")).await;
        (process, base)
    }

    /// A worker process with `threads` workers, answering health checks.
    async fn worker(&self, threads: usize) -> (Process, String) {
        self.worker_with(threads, &[]).await
    }

    /// A worker process with `threads` workers and more flags; its HTTP
    /// endpoint (health, and the live sessions it runs) answers at the URL returned.
    async fn worker_with(&self, threads: usize, args: &[&str]) -> (Process, String) {
        let listen = format!("127.0.0.1:{}", free_port());
        let threads = threads.to_string();
        let mut all = vec!["--workers", threads.as_str(), "--health-listen", listen.as_str(), "--allow-private-urls"];
        all.extend_from_slice(args);
        let process = self.spawn("worker", &all);
        let base = format!("http://{listen}");
        wait_until_up(&format!("{base}/healthz")).await;
        (process, base)
    }
}

/// Waits for a process of the deployment (they load models, so give them a minute).
async fn wait_until_up(url: &str) {
    support::wait_until_up(url, Duration::from_secs(60)).await
}

/// A request with the key; errors of a briefly unavailable service are
/// returned as status 0 so callers can wait them out.
async fn call(base: &str, key: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}")).header("X-Api-Key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Uploads the portrait through `base` and makes a trained talking photo of it.
async fn talking_photo(base: &str, key: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/asset"))
        .header("X-Api-Key", key)
        .header("Content-Type", "image/png")
        .body(ASTRONAUT.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), 200);
    let asset: Value = response.json().await.expect("json");
    let image_key = asset["data"]["image_key"].as_str().expect("image_key").to_string();
    let body = json!({"name": "astronaut", "image_key": image_key});
    let (status, group) =
        call(base, key, reqwest::Method::POST, "/v2/photo_avatar/avatar_group/create", Some(body)).await;
    assert_eq!(status, 200, "{group}");
    let group_id = group["data"]["id"].as_str().expect("group id").to_string();
    let (status, _) =
        call(base, key, reqwest::Method::POST, "/v2/photo_avatar/train", Some(json!({"group_id": group_id}))).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let path = format!("/v2/photo_avatar/train/status/{group_id}");
        let (_, reply) = call(base, key, reqwest::Method::GET, &path, None).await;
        match reply["data"]["status"].as_str() {
            Some("ready") => return group_id,
            Some("failed") => panic!("training failed: {reply}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "training did not finish: {reply}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn generate(base: &str, key: &str, talking_photo: &str, text: &str, callback: Option<&str>) -> String {
    order(base, key, talking_photo, text, (320, 240), callback).await
}

async fn generate_sized(base: &str, key: &str, talking_photo: &str, text: &str, width: u32, height: u32) -> String {
    order(base, key, talking_photo, text, (width, height), None).await
}

/// Orders a video of `talking_photo` saying `text` (an espeak voice, for a
/// steady pace) at `size`.
async fn order(
    base: &str,
    key: &str,
    talking_photo: &str,
    text: &str,
    (width, height): (u32, u32),
    callback: Option<&str>,
) -> String {
    let mut body = json!({
        "video_inputs": [{
            "character": {"type": "talking_photo", "talking_photo_id": talking_photo},
            "voice": {"type": "text", "input_text": text, "voice_id": "en-us-female"},
        }],
        "dimension": {"width": width, "height": height},
    });
    if let Some(url) = callback {
        body["callback_url"] = json!(url);
    }
    let (status, reply) = call(base, key, reqwest::Method::POST, "/v2/video/generate", Some(body)).await;
    assert_eq!(status, 200, "{reply}");
    reply["data"]["video_id"].as_str().expect("video id").to_string()
}

/// Polls until the video is completed (waiting out errors of services
/// that are briefly away) and returns its status data.
async fn wait_for_video(base: &str, key: &str, video_id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let path = format!("/v1/video_status.get?video_id={video_id}");
        let (status, reply) = call(base, key, reqwest::Method::GET, &path, None).await;
        if status == 200 {
            match reply["data"]["status"].as_str() {
                Some("completed") => return reply["data"].clone(),
                Some("failed") => panic!("video {video_id} failed: {reply}"),
                _ => {}
            }
        }
        assert!(Instant::now() < deadline, "video {video_id} did not complete: {status} {reply}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Streams of a downloaded MP4 as ffprobe sees them: (codec_type, codec_name).
fn probe(path: &Path) -> Vec<(String, String)> {
    let output = run(Command::new("ffprobe").args(["-v", "error", "-show_streams", "-of", "json"]).arg(path));
    let probed: Value = serde_json::from_str(&output).expect("ffprobe json");
    probed["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| (s["codec_type"].as_str().unwrap_or("").into(), s["codec_name"].as_str().unwrap_or("").into()))
        .collect()
}

/// Downloads `url` to `to`; returns the reply's Content-Type.
async fn download(url: &str, to: &Path) -> String {
    let response = reqwest::get(url).await.expect("download");
    assert_eq!(response.status(), 200, "{url}");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    std::fs::write(to, response.bytes().await.expect("bytes")).expect("write");
    content_type
}

/// Counts signed success events per video, as a client's webhook receiver would.
async fn callback_counter() -> (String, std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>>) {
    use axum::routing::post;
    let counts: std::sync::Arc<std::sync::Mutex<HashMap<String, usize>>> = Default::default();
    let seen = counts.clone();
    let app = axum::Router::new().route(
        "/",
        post(move |body: String| {
            let seen = seen.clone();
            async move {
                let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if event["event_type"] == "avatar_video.success" {
                    let id = event["event_data"]["video_id"].as_str().unwrap_or("").to_string();
                    *seen.lock().expect("counts").entry(id).or_default() += 1;
                }
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_ends_and_workers_share_postgres_and_s3() {
    let deployment = Deployment::start();
    let (_front_a, a) = deployment.front_end(&[]).await;
    let (_front_b, b) = deployment.front_end(&[]).await;
    let (_signing, signing) = deployment.front_end(&["--s3-presigned-urls"]).await;
    let (_worker, worker) = deployment.worker(2).await;
    let key = &deployment.key;

    // Upload and train through one front end; the avatar is seen by the other.
    let photo = talking_photo(&a, key).await;
    let (status, listed) = call(&b, key, reqwest::Method::GET, "/v1/talking_photo.list", None).await;
    assert_eq!(status, 200);
    assert!(listed["data"].as_array().expect("list").iter().any(|p| p["id"] == photo), "{listed}");

    // Order through B, a worker elsewhere renders, poll through A.
    let video_id = generate(&b, key, &photo, "Hello from a worker on another machine.", None).await;
    let data = wait_for_video(&a, key, &video_id, Duration::from_secs(180)).await;
    let video_url = data["video_url"].as_str().expect("video_url");
    assert!(video_url.starts_with(&a), "served through the API server: {video_url}");
    let scratch = tempfile::tempdir().expect("temp dir");
    let local = scratch.path().join("video.mp4");
    assert_eq!(download(video_url, &local).await, "video/mp4");
    let streams = probe(&local);
    assert!(streams.contains(&("video".into(), "h264".into())), "{streams:?}");
    assert!(streams.contains(&("audio".into(), "aac".into())), "{streams:?}");
    // The bytes are the bucket's, and nothing of the render's work is left there.
    let stored = deployment.services.s3.object(&format!("videos/{video_id}.mp4"));
    assert_eq!(std::fs::read(&stored).expect("object in the bucket"), std::fs::read(&local).expect("download"));
    assert!(!deployment.services.s3.object(&format!("work/{video_id}")).join("rendered.json").exists());

    // Ranges, for browsers seeking in a video.
    let ranged = reqwest::Client::new().get(video_url).header("Range", "bytes=0-99").send().await.expect("range");
    assert_eq!(ranged.status(), 206);
    assert_eq!(
        ranged.headers()["content-range"].to_str().ok(),
        Some(format!("bytes 0-99/{}", std::fs::metadata(&local).expect("size").len()).as_str())
    );
    assert_eq!(ranged.bytes().await.expect("bytes").len(), 100);

    // A front end configured for pre-signed URLs hands out the bucket's own URL.
    let path = format!("/v1/video_status.get?video_id={video_id}");
    let (_, signed) = call(&signing, key, reqwest::Method::GET, &path, None).await;
    let signed_url = signed["data"]["video_url"].as_str().expect("signed url");
    assert!(signed_url.starts_with(&deployment.services.s3.endpoint()), "{signed_url}");
    assert!(signed_url.contains("X-Amz-Signature="), "{signed_url}");
    let from_bucket = scratch.path().join("signed.mp4");
    download(signed_url, &from_bucket).await;
    assert_eq!(std::fs::read(&from_bucket).expect("signed"), std::fs::read(&local).expect("download"));

    // Operations: every process is ready; the front end counts the worker process's workers.
    for base in [&a, &worker] {
        let ready = reqwest::get(format!("{base}/readyz")).await.expect("readyz");
        assert_eq!(ready.status(), 200, "{base}");
    }
    let metrics = reqwest::get(format!("{a}/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("mouthpiece_deployment_workers 2"), "{metrics}");
    assert!(metrics.contains(r#"mouthpiece_jobs{kind="video",state="done"} 1"#), "{metrics}");
    let worker_metrics = reqwest::get(format!("{worker}/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(worker_metrics.contains(r#"mouthpiece_stage_seconds_count{stage="render"} 1"#), "{worker_metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_render_loses_no_job_and_none_runs_twice() {
    let deployment = Deployment::start();
    let (_front, base) = deployment.front_end(&[]).await;
    let key = &deployment.key;
    let (mut doomed, _) = deployment.worker(1).await;
    let (_survivor, _) = deployment.worker(1).await;
    let photo = talking_photo(&base, key).await;
    let (callback, events) = callback_counter().await;
    let mut videos = Vec::new();
    for index in 0..10 {
        let text = format!("Video number {index}: a worker may die while this one renders, and it still arrives.");
        videos.push(generate(&base, key, &photo, &text, Some(&callback)).await);
    }
    // Kill one worker (SIGKILL, as a crash) while it renders: wait until
    // both workers are busy, so it holds a job.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut processing = 0;
        for id in &videos {
            let path = format!("/v1/video_status.get?video_id={id}");
            let (_, reply) = call(&base, key, reqwest::Method::GET, &path, None).await;
            processing += usize::from(reply["data"]["status"] == "processing");
        }
        if processing >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the workers never got busy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    doomed.child.kill().expect("SIGKILL");
    doomed.child.wait().expect("reaped");

    let scratch = tempfile::tempdir().expect("temp dir");
    for id in &videos {
        let data = wait_for_video(&base, key, id, Duration::from_secs(300)).await;
        let local = scratch.path().join(format!("{id}.mp4"));
        download(data["video_url"].as_str().expect("url"), &local).await;
        assert!(probe(&local).contains(&("video".into(), "h264".into())), "video {id} is whole");
    }
    // Each video was announced exactly once: no job completed twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counts = events.lock().expect("counts").clone();
        if videos.iter().all(|id| counts.get(id).is_some_and(|&n| n >= 1)) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let counts = events.lock().expect("counts").clone();
            for id in &videos {
                assert_eq!(counts.get(id), Some(&1), "video {id} announced {:?} times", counts.get(id));
            }
            break;
        }
        assert!(Instant::now() < deadline, "not every video was announced: {counts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nothing lost in the store: the photo is still there, and no render left work behind.
    let (_, avatars) = call(&base, key, reqwest::Method::GET, "/v1/talking_photo.list", None).await;
    let image = avatars["data"][0]["image_url"].as_str().expect("image url");
    let photo_copy = scratch.path().join("photo.png");
    download(image, &photo_copy).await;
    assert_eq!(std::fs::read(&photo_copy).expect("photo"), ASTRONAUT);
    let work = deployment.services.s3.root.path().join(BUCKET).join("work");
    let left: Vec<_> = walk(&work);
    assert!(left.is_empty(), "intermediate files left in the bucket: {left:?}");
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .flat_map(|entry| if entry.path().is_dir() { walk(&entry.path()) } else { vec![entry.path()] })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_wait_out_a_database_restart_and_an_absent_store() {
    let mut deployment = Deployment::start();
    let (_front, base) = deployment.front_end(&[]).await;
    let key = deployment.key.clone();
    let (_worker, _) = deployment.worker(1).await;
    let photo = talking_photo(&base, &key).await;
    let mut videos = Vec::new();
    for index in 0..4 {
        let text = format!("Video {index} waits while the services come and go, and then it is made.");
        videos.push(generate(&base, &key, &photo, &text, None).await);
    }
    // The database goes down for two seconds, in the middle of the work.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    deployment.services.postgres.down();
    tokio::time::sleep(Duration::from_secs(2)).await;
    deployment.services.postgres.up();
    // Then the S3 server is away for three seconds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    deployment.services.s3.down();
    tokio::time::sleep(Duration::from_secs(3)).await;
    deployment.services.s3.up();
    let scratch = tempfile::tempdir().expect("temp dir");
    for id in &videos {
        let data = wait_for_video(&base, &key, id, Duration::from_secs(300)).await;
        let local = scratch.path().join(format!("{id}.mp4"));
        download(data["video_url"].as_str().expect("url"), &local).await;
        assert!(probe(&local).contains(&("audio".into(), "aac".into())), "video {id} is whole");
    }
    // New work is taken at once after all that.
    let started = Instant::now();
    let late = generate(&base, &key, &photo, "And one more.", None).await;
    wait_for_video(&base, &key, &late, Duration::from_secs(120)).await;
    println!("a video ordered after the outages took {:.1} s", started.elapsed().as_secs_f32());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_or_hands_back_the_running_job() {
    let deployment = Deployment::start();
    let (_front, base) = deployment.front_end(&[]).await;
    let key = &deployment.key;
    // No grace: the worker must hand its job back at once.
    let listen = format!("127.0.0.1:{}", free_port());
    let mut worker = deployment.spawn(
        "worker",
        &["--workers", "1", "--shutdown-grace-seconds", "0", "--health-listen", &listen, "--allow-private-urls"],
    );
    wait_until_up(&format!("http://{listen}/healthz")).await;
    let photo = talking_photo(&base, key).await;
    let text = "A long sentence, so that the worker is still rendering it when it is asked to stop. ".repeat(4);
    let video_id = generate(&base, key, &photo, &text, None).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    // Usually caught running; a render quicker than the polling may be done already.
    while !matches!(
        deployment.services.postgres.query("SELECT state FROM jobs WHERE kind = 'video'").trim(),
        "running" | "done"
    ) {
        assert!(Instant::now() < deadline, "the worker never took the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = worker.child.id().to_string();
    run(Command::new("kill").args(["-TERM", &pid]));
    let status = worker.child.wait().expect("worker exits");
    assert!(status.success(), "a worker stopped by SIGTERM exits cleanly: {status}");
    let job = deployment
        .services
        .postgres
        .query("SELECT state, COALESCE(worker_id, '-'), attempts FROM jobs WHERE kind = 'video'");
    let registered = deployment.services.postgres.query("SELECT COUNT(*) FROM workers");
    if job.trim() != "done|-|1" {
        assert_eq!(job.trim(), "queued|-|0", "handed back, the attempt not counted");
    }
    assert_eq!(registered.trim(), "0", "the stopped process left the worker registry");
    // Another worker finishes it.
    let (_next, _) = deployment.worker(1).await;
    wait_for_video(&base, key, &video_id, Duration::from_secs(180)).await;
}

/// The scale benchmark of docs/benchmarks.md (run by scripts/bench-scale.sh,
/// in release): videos per minute with 1, 2 and 4 worker processes of one
/// worker each, sharing one Postgres and one bucket on this machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: scripts/bench-scale.sh runs it in release"]
async fn bench_throughput_by_worker_count() {
    const VIDEOS: usize = 16;
    let text = "Every worker takes the next video from the queue the moment it is free, \
                so more workers make more videos, up to what the processors can do.";
    let mut report = Vec::new();
    for workers in [1, 2, 4] {
        let deployment = Deployment::start();
        let (_front, base) = deployment.front_end(&[]).await;
        let key = &deployment.key;
        let mut processes = Vec::new();
        for _ in 0..workers {
            processes.push(deployment.worker(1).await);
        }
        let photo = talking_photo(&base, key).await;
        let started = Instant::now();
        let mut videos = Vec::new();
        for _ in 0..VIDEOS {
            videos.push(generate_sized(&base, key, &photo, text, 640, 360).await);
        }
        let mut seconds = 0.0;
        for id in &videos {
            let data = wait_for_video(&base, key, id, Duration::from_secs(900)).await;
            seconds += data["duration"].as_f64().unwrap_or(0.0);
        }
        let elapsed = started.elapsed().as_secs_f64();
        let per_minute = VIDEOS as f64 * 60.0 / elapsed;
        println!(
            "{workers} worker(s): {VIDEOS} videos ({seconds:.0} s of video, 640x360) in {elapsed:.1} s = {per_minute:.1} videos/min"
        );
        report.push((workers, per_minute));
        // How soon an idle worker takes a new job (LISTEN/NOTIFY; polling is the fallback).
        let mut pickups = Vec::new();
        for _ in 0..5 {
            let ordered = Instant::now();
            let id = generate_sized(&base, key, &photo, "Quick.", 320, 240).await;
            let path = format!("/v1/video_status.get?video_id={id}");
            loop {
                let (_, reply) = call(&base, key, reqwest::Method::GET, &path, None).await;
                if reply["data"]["status"] != "pending" {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            pickups.push(ordered.elapsed().as_secs_f64() * 1000.0);
            wait_for_video(&base, key, &id, Duration::from_secs(60)).await;
        }
        pickups.sort_by(f64::total_cmp);
        println!(
            "{workers} worker(s): an idle worker starts a new job {:.0} ms after it is ordered (median of 5)",
            pickups[2]
        );
    }
    let base = report[0].1;
    for (workers, per_minute) in &report {
        println!("{workers} worker(s): {:.2}x the throughput of one", per_minute / base);
    }
}

#[test]
fn a_half_configured_deployment_is_refused_with_a_reason() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let refused = |args: &[&str], expected: &str| {
        let output = Command::new(BIN)
            .args(args)
            .arg("--data-dir")
            .arg(scratch.path())
            .env_remove("MOUTHPIECE_DATABASE_URL")
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should be refused");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    };
    // A shared bucket with a machine-local database would split the data.
    refused(&["serve", "--s3-bucket", "videos"], "--database-url postgres://");
    refused(&["worker", "--s3-bucket", "videos"], "--database-url postgres://");
    refused(&["migrate", "--database-url", "mysql://localhost/db"], "must start with sqlite:// or postgres://");
    // Nobody listening: the connection error names the database.
    refused(
        &["keys", "list", "--database-url", &format!("postgres://nobody@127.0.0.1:{}/db", free_port())],
        "database",
    );
}

/// The number after `line_start` in a Prometheus text exposition (0 if absent).
fn metric(text: &str, line_start: &str) -> f64 {
    text.lines().find_map(|line| line.strip_prefix(line_start).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_job_reuses_what_an_earlier_attempt_finished() {
    let deployment = Deployment::start();
    let (_front, base) = deployment.front_end(&[]).await;
    let key = &deployment.key;
    let (_worker, worker) = deployment.worker(1).await;
    let photo = talking_photo(&base, key).await;
    let video_id = generate(&base, key, &photo, "Made once, recorded twice.", None).await;
    wait_for_video(&base, key, &video_id, Duration::from_secs(120)).await;
    let metrics =
        || async { reqwest::get(format!("{worker}/metrics")).await.expect("metrics").text().await.expect("text") };
    let renders = r#"mouthpiece_stage_seconds_count{stage="render"}"#;
    let speeches = r#"mouthpiece_stage_seconds_count{stage="speech"}"#;
    let before = metrics().await;
    assert_eq!(metric(&before, renders), 1.0, "{before}");

    // As if the worker had died after putting the files in the bucket but
    // before the database heard of it: the job is running on a dead
    // worker's expired lease, and the render's marker is in the bucket.
    let marker = deployment.services.s3.object(&format!("work/{video_id}/rendered.json"));
    std::fs::create_dir_all(marker.parent().expect("folder")).expect("folder");
    std::fs::write(&marker, r#"{"duration": 1.5}"#).expect("marker");
    deployment.services.postgres.query(&format!(
        "UPDATE jobs SET state = 'running', worker_id = 'dead', lease_until = 0 WHERE target_id = '{video_id}';
         UPDATE videos SET status = 'processing' WHERE id = '{video_id}'"
    ));
    let data = wait_for_video(&base, key, &video_id, Duration::from_secs(120)).await;
    assert_eq!(data["duration"], 1.5, "the stored result was recorded: {data}");
    let after = metrics().await;
    assert_eq!(metric(&after, renders), 1.0, "nothing was rendered again: {after}");
    assert_eq!(metric(&after, speeches), metric(&before, speeches), "nor spoken again: {after}");
    assert!(!marker.exists(), "the marker is removed once recorded");
    let attempts =
        deployment.services.postgres.query(&format!("SELECT state, attempts FROM jobs WHERE target_id = '{video_id}'"));
    assert_eq!(attempts.trim(), "done|2");
}

/// A live session as an app holds it after `start`.
#[derive(Clone)]
struct LiveSession {
    id: String,
    token: String,
    whep_url: String,
    ws_url: String,
}

/// Asks for a session of `avatar` through the front end `ask` and starts it
/// through the front end `start`; the start's status and reply if refused.
async fn live_session(ask: &str, start: &str, key: &str, avatar: &str) -> Result<LiveSession, (u16, Value)> {
    let body = json!({"avatar_id": avatar, "mode": "FULL", "voice_id": "en-us-female", "video_quality": "low"});
    let (status, asked) = call(ask, key, reqwest::Method::POST, "/v1/sessions/token", Some(body)).await;
    assert_eq!(status, 200, "{asked}");
    let id = asked["data"]["session_id"].as_str().expect("session_id").to_string();
    let token = asked["data"]["session_token"].as_str().expect("session_token").to_string();
    let (status, started) = session_call(start, &token, "/v1/sessions/start", json!({"session_id": id})).await;
    if status != 200 {
        return Err((status, started));
    }
    assert_eq!(started["code"], 1000, "{started}");
    let url = |name: &str| started["data"][name].as_str().expect(name).to_string();
    Ok(LiveSession { whep_url: url("whep_url"), ws_url: url("ws_url"), id, token })
}

/// Sends a WHEP offer for `session` to `whep_url`: the status and the answer.
async fn whep(whep_url: &str, session: &LiveSession, offer: String) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(whep_url)
        .bearer_auth(&session.token)
        .header("Content-Type", "application/sdp")
        .body(offer)
        .send()
        .await
        .expect("whep");
    (response.status().as_u16(), response.text().await.expect("answer"))
}

/// Watches a session over WHEP for `span` after a second's warm-up, as a
/// browser would (str0m receiving); what arrived.
async fn watch(session: &LiveSession, span: Duration) -> live::Watched {
    let (viewer, offer) = live::Viewer::offer(std::net::Ipv4Addr::LOCALHOST.into()).expect("offer");
    let (status, answer) = whep(&session.whep_url, session, offer).await;
    assert_eq!(status, 201, "{answer}");
    viewer.watch(&answer, Duration::from_secs(1), span).await.expect("watched")
}

/// The session ids a key's `GET /v1/sessions` lists through `base`.
async fn listed_sessions(base: &str, key: &str) -> Vec<String> {
    let (status, reply) = call(base, key, reqwest::Method::GET, "/v1/sessions", None).await;
    assert_eq!(status, 200, "{reply}");
    let sessions = reply["data"]["sessions"].as_array().expect("sessions").iter();
    sessions.map(|s| s["session_id"].as_str().unwrap_or_default().to_string()).collect()
}

/// The next JSON event of a session's WebSocket of the given type, within 30 s.
async fn next_event<S>(socket: &mut S, kind: &str) -> Value
where
    S: futures_util::Stream<
            Item = Result<tokio_tungstenite::tungstenite::Message, tokio_tungstenite::tungstenite::Error>,
        > + Unpin,
{
    use futures_util::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event within 30 s"))
            .unwrap_or_else(|| panic!("the socket closed before a {kind} event"))
            .expect("message");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            let event: Value = serde_json::from_str(&text).expect("event json");
            if event["type"] == kind {
                return event;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_sessions_run_on_the_freest_worker_and_a_killed_worker_ends_only_its_own() {
    use futures_util::SinkExt;
    live::init();
    let deployment = Deployment::start();
    let (_front_a, a) = deployment.front_end(&[]).await;
    let (_front_b, b) = deployment.front_end(&[]).await;
    let live_flags = ["--live-capacity", "2", "--live-host", "127.0.0.1"];
    let (mut first, first_url) = deployment.worker_with(1, &live_flags).await;
    let (_second, second_url) = deployment.worker_with(1, &live_flags).await;
    let key = &deployment.key;
    let photo = talking_photo(&a, key).await;

    // Asked through one front end, started through the other: each session
    // goes to the worker with the most free room, so one to each, and the
    // media URLs are the workers' own (a front end never carries media).
    let one = live_session(&a, &b, key, &photo).await.expect("first session starts");
    let two = live_session(&b, &a, key, &photo).await.expect("second session starts");
    let host_of = |session: &LiveSession| {
        [&first_url, &second_url]
            .into_iter()
            .find(|url| session.whep_url.starts_with(url.as_str()))
            .unwrap_or_else(|| panic!("{} is not a worker's URL", session.whep_url))
            .clone()
    };
    assert_ne!(host_of(&one), host_of(&two), "one session on each worker");
    assert!(one.ws_url.starts_with(&host_of(&one).replacen("http", "ws", 1)), "{}", one.ws_url);
    let (doomed, survivor) = if host_of(&one) == first_url { (one, two) } else { (two, one) };
    // A front end refuses media for a session that runs elsewhere, and says where.
    let (viewer, offer) = live::Viewer::offer(std::net::Ipv4Addr::LOCALHOST.into()).expect("offer");
    drop(viewer);
    let (status, reply) = whep(&format!("{a}/v1/sessions/{}/whep", survivor.id), &survivor, offer).await;
    assert_eq!(status, 404, "{reply}");
    assert!(reply.contains("another machine"), "{reply}");
    let mut listed = listed_sessions(&b, key).await;
    listed.sort();
    let mut expected = vec![doomed.id.clone(), survivor.id.clone()];
    expected.sort();
    assert_eq!(listed, expected);

    // The app steers the surviving session over its worker's WebSocket.
    let ws_url = format!("{}?session_token={}", survivor.ws_url, survivor.token);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await.expect("websocket");
    let speak =
        json!({"type": "avatar.speak_text", "text": "Still here after the other machine went away.", "event_id": "e1"});
    socket.send(tokio_tungstenite::tungstenite::Message::Text(speak.to_string().into())).await.expect("send");
    assert_eq!(next_event(&mut socket, "avatar.speak_started").await["event_id"], "e1");

    // Both are watched; one worker is killed (SIGKILL, as a crash) meanwhile.
    let span = Duration::from_secs(8);
    let watching: Vec<_> = [doomed.clone(), survivor.clone()]
        .into_iter()
        .map(|session| tokio::spawn(async move { watch(&session, span).await }))
        .collect();
    tokio::time::sleep(Duration::from_secs(4)).await;
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reaped");
    let mut views = Vec::new();
    for viewer in watching {
        views.push(viewer.await.expect("viewer"));
    }
    let (doomed_view, survivor_view) = (views[0], views[1]);
    assert!(survivor_view.fps() > 20.0, "the other worker's session goes on: {survivor_view:?}");
    assert!(
        doomed_view.video_frames * 2 < survivor_view.video_frames,
        "the killed worker's frames stop: {doomed_view:?} against {survivor_view:?}"
    );
    let keep_alive = |session: &LiveSession, base: &str| {
        let (base, token, body) = (base.to_string(), session.token.clone(), json!({"session_id": session.id}));
        async move { session_call(&base, &token, "/v1/sessions/keep-alive", body).await }
    };
    let (status, reply) = keep_alive(&survivor, &a).await;
    assert_eq!(status, 200, "keep-alive passed on to the surviving worker: {reply}");

    // The killed worker's session ends once the registry misses the worker:
    // until then a keep-alive is told to try again (503), then that it ended.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, reply) = loop {
        let (status, reply) = keep_alive(&doomed, &b).await;
        if status != 503 || Instant::now() > deadline {
            break (status, reply);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(status, 404, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap_or_default().contains("stopped"), "{reply}");
    assert_eq!(listed_sessions(&a, key).await, vec![survivor.id.clone()]);
    let (status, reply) = keep_alive(&doomed, &a).await;
    assert_eq!(status, 401, "an ended session's token has expired: {reply}");

    // New sessions go to the surviving worker until it is full.
    let third = live_session(&b, &b, key, &photo).await.expect("a third session starts");
    assert!(third.whep_url.starts_with(&second_url), "{}", third.whep_url);
    let (status, reply) = live_session(&a, &a, key, &photo).await.err().expect("the fourth is refused");
    assert_eq!(status, 429, "{reply}");
    assert!(reply["error"]["message"].as_str().unwrap_or_default().contains("full"), "{reply}");
    let metrics =
        |base: String| async move { reqwest::get(format!("{base}/metrics")).await.expect("metrics").text().await };
    let worker_metrics = metrics(second_url.clone()).await.expect("text");
    assert!(worker_metrics.contains("mouthpiece_live_sessions 2"), "{worker_metrics}");
    assert!(worker_metrics.contains("mouthpiece_live_capacity 2"), "{worker_metrics}");
    let front_metrics = metrics(a.clone()).await.expect("text");
    assert!(front_metrics.contains("mouthpiece_live_capacity 0"), "a front end hosts nothing: {front_metrics}");

    // Stopping through a front end reaches the worker: the app's socket
    // hears the session close, and it leaves the list (where the third
    // runs, and the refused fourth waits to be started).
    let body = json!({"session_id": survivor.id, "reason": "test over"});
    let (status, reply) = session_call(&b, &survivor.token, "/v1/sessions/stop", body).await;
    assert_eq!(status, 200, "{reply}");
    while next_event(&mut socket, "session.state_updated").await["state"] != "closed" {}
    let listed = listed_sessions(&a, key).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&third.id) && !listed.contains(&survivor.id), "{listed:?}");
}
