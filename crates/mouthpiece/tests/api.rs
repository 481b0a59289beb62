//! The original app's call sequence against a real `mouthpiece serve`
//! process on a free port with a fresh data directory, and the errors a
//! client can run into. The resulting MP4 is checked with ffprobe and its
//! decoded frames. With `MOUTHPIECE_TEST_DISTRIBUTED` set, each server runs
//! on a real Postgres and S3 server of its own instead of the embedded
//! defaults (./test.sh runs the call sequence and the contract tests so).

mod support;

use support::server::*;

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test]
async fn original_app_flow_produces_a_talking_video() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;

    let (status, train) =
        call(&server, reqwest::Method::POST, "/v2/photo_avatar/train", Some(json!({"group_id": group_id}))).await;
    assert_eq!(status, 200, "{train}");
    assert!(train["error"].is_null() && train["data"]["flow_id"].is_string(), "{train}");

    let (status, voices) = call(&server, reqwest::Method::GET, "/v2/voices", None).await;
    assert_eq!(status, 200);
    let voices = voices["data"]["voices"].as_array().expect("voices list").clone();
    assert!(voices.len() >= 60);
    let voice = voices.iter().find(|v| v["language"] == "English").expect("an English voice");
    let preview = voice["preview_audio"].as_str().expect("preview url");
    let wav = tempfile::NamedTempFile::new().expect("temp");
    download(preview, wav.path()).await;
    assert_eq!(media::probe(wav.path()).expect("probe preview").streams_of("audio").len(), 1);

    let text = "Hello there! I was a still photo a moment ago, and now I can talk.";
    let (status, generated) = call(
        &server,
        reqwest::Method::POST,
        "/v2/video/generate",
        Some(json!({
            "video_inputs": [{
                "character": {"type": "talking_photo", "talking_photo_id": group_id},
                "voice": {"type": "text", "input_text": text, "voice_id": voice["voice_id"]},
                "background": {"type": "color", "value": "#ffffff"}
            }],
            "dimension": {"width": 720, "height": 406}
        })),
    )
    .await;
    assert_eq!(status, 200, "{generated}");
    let video_id = generated["data"]["video_id"].as_str().expect("video_id").to_string();
    assert_eq!(generated["data"]["dimension"], json!({"width": 720, "height": 406}));

    // Poll every 0.5 s, as the app does.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let done = loop {
        let (status, reply) =
            call(&server, reqwest::Method::GET, &format!("/v1/video_status.get?video_id={video_id}"), None).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["code"], 100);
        assert!(
            reply["message"].is_string()
                && reply["data"]["duration"].is_number()
                && reply["data"]["created_at"].is_i64()
        );
        let state = reply["data"]["status"].as_str().expect("status").to_string();
        if seen.last() != Some(&state) {
            seen.push(state.clone());
        }
        match state.as_str() {
            "completed" => break reply["data"].clone(),
            "pending" | "processing" => {}
            other => panic!("unexpected status {other}: {reply}"),
        }
        assert!(Instant::now() < deadline, "video not done in time; statuses {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(seen.iter().all(|s| ["pending", "processing", "completed"].contains(&s.as_str())), "{seen:?}");
    assert_eq!(done["id"], video_id.as_str());
    assert!(done["error"].is_null());

    let dir = tempfile::tempdir().expect("temp");
    let video = dir.path().join("video.mp4");
    let video_url = done["video_url"].as_str().expect("video_url");
    assert!(video_url.starts_with(&server.base), "absolute URL: {video_url}");
    download(video_url, &video).await;
    let gif = dir.path().join("preview.gif");
    download(done["gif_url"].as_str().expect("gif_url"), &gif).await;
    assert!(std::fs::read(&gif).expect("gif").starts_with(b"GIF89a"), "a GIF preview");
    // The first 3 s of the video, 10 frames a second, 320 px wide.
    let preview = media::probe(&gif).expect("ffprobe the GIF");
    let preview = preview.streams_of("video")[0];
    assert_eq!((preview.width, preview.height), (Some(320), Some(180)));
    let seconds = preview.duration_seconds().expect("GIF duration");
    assert!((seconds - 3.0).abs() < 0.15, "a 3 s preview, not {seconds} s");
    assert_eq!(preview.nb_frames.as_deref(), Some("30"), "10 frames a second");
    assert!(done["caption_url"].is_null(), "no captions unless asked");
    let thumbnail = dir.path().join("thumb.jpg");
    download(done["thumbnail_url"].as_str().expect("thumbnail_url"), &thumbnail).await;
    assert_eq!(image::open(&thumbnail).expect("thumbnail is an image").width(), 720);

    let info = media::probe(&video).expect("ffprobe");
    let videos = info.streams_of("video");
    let audios = info.streams_of("audio");
    assert_eq!((videos.len(), audios.len()), (1, 1), "one video and one audio stream");
    let (v, a) = (videos[0], audios[0]);
    assert_eq!(v.codec_name, "h264");
    assert_eq!((v.width, v.height), (Some(720), Some(406)));
    assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p"));
    assert_eq!(v.frame_rate(), Some(25.0));
    assert_eq!(a.codec_name, "aac");
    let (video_seconds, audio_seconds) =
        (v.duration_seconds().expect("video duration"), a.duration_seconds().expect("audio duration"));
    assert!(
        (video_seconds - audio_seconds).abs() <= 0.04 + 0.025,
        "video {video_seconds} s vs audio {audio_seconds} s"
    );
    let reported = done["duration"].as_f64().expect("duration");
    assert!((reported - video_seconds).abs() < 0.05, "status duration {reported} vs file {video_seconds}");
    assert!(video_seconds > 2.0);

    // The output moves where the face is and nowhere else.
    let frames = decode_frames(&video, 720, 406);
    assert!(frames.len() as f64 >= video_seconds * 25.0 - 1.0);
    for frame in &frames {
        for (x, y) in [(5usize, 5usize), (714, 5), (5, 400), (714, 400), (100, 200), (620, 200)] {
            let pixel = &frame[(y * 720 + x) * 3..(y * 720 + x) * 3 + 3];
            assert!(pixel.iter().all(|&c| c >= 250), "background stays white at ({x}, {y}): {pixel:?}");
        }
    }
    // Where the pixels change: each one's variance over the video (green
    // channel, every second pixel), compared between the mouth, the rest
    // of the face and the rest of the picture, which the face model finds
    // in the first frame (the photo as it is).
    let first = image::RgbImage::from_raw(720, 406, frames[0].clone()).expect("frame");
    let rig = face::FaceAnalyzer::new().expect("models").analyze(&first).expect("the face in the first frame");
    let points = rig.landmarks();
    let bounds = |indices: &[usize], pad: f32| {
        let (xs, ys) = (indices.iter().map(|&i| points[i][0]), indices.iter().map(|&i| points[i][1]));
        let (x0, x1) = (xs.clone().fold(f32::MAX, f32::min) - pad, xs.fold(f32::MIN, f32::max) + pad);
        let (y0, y1) = (ys.clone().fold(f32::MAX, f32::min) - pad, ys.fold(f32::MIN, f32::max) + pad);
        move |x: usize, y: usize| (x0..=x1).contains(&(x as f32)) && (y0..=y1).contains(&(y as f32))
    };
    let unit = rig.eye_distance();
    // The lips and the chin below them: the jaw turns, so the chin moves too.
    let mouth = bounds(&[61, 291, 0, 17, face::mesh::CHIN], 0.15 * unit);
    let head = bounds(&face::mesh::FACE_OVAL, 0.5 * unit);
    let (mut in_mouth, mut in_face, mut elsewhere) = (Vec::new(), Vec::new(), Vec::new());
    for y in (0..406).step_by(2) {
        for x in (0..720).step_by(2) {
            let values: Vec<f64> = frames.iter().map(|f| f64::from(f[(y * 720 + x) * 3 + 1])).collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
            match (mouth(x, y), head(x, y)) {
                (true, _) => in_mouth.push(variance),
                (false, true) => in_face.push(variance),
                (false, false) => elsewhere.push(variance),
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (mouth, face, rest) = (mean(&in_mouth), mean(&in_face), mean(&elsewhere));
    eprintln!("pixel variance: mouth and chin {mouth:.1}, rest of the head {face:.1}, elsewhere {rest:.1}");
    // The head moves as a whole, so the face's edges change too; but the
    // mouth changes most, and the picture away from the head hardly at all.
    assert!(mouth > 1.5 * face, "the mouth ({mouth:.1}) changes more than the rest of the head ({face:.1})");
    assert!(rest < 0.25 * face, "away from the head ({rest:.1}) the picture changes far less than on it ({face:.1})");
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let server = start_server().await;
    let client = reqwest::Client::new();
    for (path, key) in
        [("/v2/voices", None), ("/v2/voices", Some("mp_wrong")), ("/v1/video_status.get?video_id=x", None)]
    {
        let mut request = client.get(format!("{}{path}", server.base));
        if let Some(key) = key {
            request = request.header("X-Api-Key", key);
        }
        let (status, body) = json_of(request.send().await.expect("request")).await;
        assert_eq!(status, 401, "{path}: {body}");
        if path.starts_with("/v1/") {
            assert!(body["code"].is_number() && body["message"].is_string() && body["data"].is_null(), "{body}");
        } else {
            assert!(body["error"]["message"].as_str().expect("message").contains("X-Api-Key"), "{body}");
            assert!(body["data"].is_null());
        }
    }
}

/// A PNG whose header claims `width`×`height` (the pixels are never read).
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::new(1, 1).write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("png");
    // IHDR data starts at byte 16: width, height, then 5 bytes, then its CRC.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn png_of(image: &image::RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).expect("png");
    bytes
}

#[tokio::test]
async fn oversize_uploads_and_path_tricks_are_refused() {
    let server = start_server_with(&["--max-upload-mb", "1"]).await;
    let two_mb = vec![7u8; 2 * 1024 * 1024];
    let (status, body) = upload(&server, "audio/wav", two_mb.clone()).await;
    assert_eq!(status, 413, "announced too large: {body}");
    assert!(body["message"].as_str().expect("message").contains("at most 1 MB"), "{body}");

    // No Content-Length: the server counts while it writes and stops at the limit.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://")).await.expect("connect");
    let head = format!(
        "POST /v1/asset HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: {}\r\nContent-Type: audio/wav\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        server.key
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in two_mb.chunks(64 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        if stream.write_all(&framed).await.is_err() {
            break; // the server answered and closed: fine
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 413"), "streamed too large: {reply}");
    assert!(reply.contains("at most 1 MB"), "{reply}");

    // A name is a label: it never becomes part of a path.
    let response = reqwest::Client::new()
        .post(format!("{}/v1/asset?name=..%2F..%2Fmouthpiece.db", server.base))
        .header("X-Api-Key", &server.key)
        .header("Content-Type", "image/png")
        .body(ASTRONAUT.to_vec())
        .send()
        .await
        .expect("upload");
    let (status, body) = json_of(response).await;
    assert_eq!(status, 200, "a file within the limit is taken: {body}");
    assert_eq!(body["data"]["name"], "../../mouthpiece.db");
    let url = body["data"]["url"].as_str().expect("url");
    assert!(url.ends_with(&format!("/files/assets/{}.png", body["data"]["id"].as_str().expect("id"))), "{url}");
    for trick in
        ["/files/%2e%2e/mouthpiece.db", "/files/..%2Fmouthpiece.db", "/files/assets/%2e%2e/%2e%2e/mouthpiece.db"]
    {
        let response = reqwest::get(format!("{}{trick}", server.base)).await.expect("get");
        assert_eq!(response.status().as_u16(), 404, "{trick} stays inside the files");
    }
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| entries.map(|e| e.expect("entry").file_name().to_string_lossy().to_string()).collect())
            .unwrap_or_default()
    };
    let assets = match &server.services {
        Some(services) => services.s3.object("assets"),
        None => server.data_dir.path().join("files/assets"),
    };
    let stored = names(&assets);
    assert_eq!(stored.len(), 1, "refused uploads leave nothing behind: {stored:?}");
    let scratch = names(&server.data_dir.path().join("scratch"));
    assert!(scratch.is_empty(), "nor anything in the scratch space: {scratch:?}");
}

#[tokio::test]
async fn bad_photos_get_clear_errors() {
    let server = start_server().await;
    let (status, body) = upload(&server, "image/png", b"this is not a picture".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().expect("message").contains("not an image"), "{body}");
    assert!(body["data"].is_null());

    let (status, body) = upload(&server, "image/png", png_of(&image::RgbImage::new(64, 64))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().expect("message").contains("at least"), "{body}");

    let (status, body) = upload(&server, "image/png", png_claiming(10_000, 9_000)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().expect("message").contains("scale it down"), "{body}");

    let (status, body) = upload(&server, "text/plain", b"hello".to_vec()).await;
    assert_eq!(status, 415, "{body}");

    // A photo without a face uploads, but training fails with a reason.
    let blank = png_of(&image::RgbImage::from_pixel(400, 300, image::Rgb([180, 160, 140])));
    let group_id = create_avatar(&server, blank).await;
    let (status, _) =
        call(&server, reqwest::Method::POST, "/v2/photo_avatar/train", Some(json!({"group_id": group_id}))).await;
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    let failure = loop {
        let (_, reply) =
            call(&server, reqwest::Method::GET, &format!("/v2/photo_avatar/train/status/{group_id}"), None).await;
        match reply["data"]["status"].as_str() {
            Some("failed") => {
                break reply["data"]["error_msg"].as_str().expect("error_msg").to_string();
            }
            Some("pending" | "training") => {}
            other => panic!("unexpected training status {other:?}: {reply}"),
        }
        assert!(Instant::now() < deadline, "training did not finish");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(failure.contains("no face"), "{failure}");

    // Generating with that avatar is refused up front.
    let (status, body) = generate(
        &server,
        json!({
            "video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                              "voice": {"type": "text", "input_text": "Hi", "voice_id": "en-us-female"}}]
        }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("no face"), "{body}");
}

#[tokio::test]
async fn bad_video_requests_get_clear_errors() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let scene = |voice_id: &str, text: &str| {
        json!({"character": {"type": "talking_photo", "talking_photo_id": group_id},
               "voice": {"type": "text", "input_text": text, "voice_id": voice_id}})
    };
    let cases = [
        (json!({"video_inputs": [scene("nope", "Hi")]}), 400, "unknown voice_id"),
        (json!({"video_inputs": [scene("en-us-female", "")]}), 400, "empty"),
        (json!({"video_inputs": [scene("en-us-female", &"a".repeat(5001))]}), 400, "5000"),
        (json!({"video_inputs": []}), 400, "1 to 50"),
        (
            json!({"video_inputs": [scene("en-us-female", "Hi")], "dimension": {"width": 100, "height": 406}}),
            400,
            "128",
        ),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": "missing"},
                                  "voice": {"type": "text", "input_text": "Hi", "voice_id": "en-us-female"}}]}),
            404,
            "not found",
        ),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                  "voice": {"type": "text", "input_text": "Hi"},
                                  "background": {"type": "color", "value": "white"}}]}),
            400,
            "#rrggbb",
        ),
        (json!({"video_inputs": "nope"}), 400, "invalid JSON body"),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id, "scale": 3.0},
                                  "voice": {"type": "text", "input_text": "Hi"}}]}),
            400,
            "character.scale",
        ),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id,
                                                "talking_photo_style": "triangle"},
                                  "voice": {"type": "text", "input_text": "Hi"}}]}),
            400,
            "talking_photo_style",
        ),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                  "voice": {"type": "text", "input_text": "Hi"},
                                  "background": {"type": "image", "url": "http://192.168.1.10/a.png"}}]}),
            400,
            "private",
        ),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                  "voice": {"type": "text", "input_text": "Hi"},
                                  "background": {"type": "image"}}]}),
            400,
            "image_asset_id",
        ),
        (
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                  "voice": {"type": "text", "input_text": "Hi"},
                                  "background": {"type": "image", "image_asset_id": "missing"}}]}),
            404,
            "not found",
        ),
    ];
    for (body, expected, phrase) in cases {
        let (status, reply) = generate(&server, body.clone()).await;
        assert_eq!(status, expected, "{body} → {reply}");
        assert!(reply["data"].is_null(), "{reply}");
        let message = reply["error"]["message"].as_str().expect("v2 error message");
        assert!(message.contains(phrase), "'{message}' should mention '{phrase}'");
    }
    let voice = |voice: Value| json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id}, "voice": voice}]});
    for (body, phrase) in [
        (voice(json!({"type": "text", "input_text": "Hi", "speed": 2})), "speed"),
        (voice(json!({"type": "text", "input_text": "Hi", "speed": "fast"})), "voice.speed"),
        (voice(json!({"type": "text", "input_text": "Hi", "pitch": -80})), "pitch"),
        (voice(json!({"type": "text", "input_text": "Hi <break time=\"forever\"/>"})), "break time"),
        (voice(json!({"type": "silence", "duration": 0.5})), "silence"),
        (voice(json!({"type": "audio", "audio_url": "http://127.0.0.1/a.wav"})), "private"),
        (voice(json!({"type": "audio", "audio_url": "file:///etc/passwd"})), "http or https"),
        (voice(json!({"type": "audio"})), "audio_asset_id"),
        (voice(json!({"type": "text", "input_text": "Hi", "emotion": "Grumpy"})), "emotion"),
        (voice(json!({"type": "text", "input_text": "Hi", "voice_id": "de-de-male", "emotion": "Excited"})), "emotion"),
        (voice(json!({"type": "video"})), "not one of"),
    ] {
        let (status, reply) = generate(&server, body.clone()).await;
        assert_eq!(status, 400, "{body} → {reply}");
        let message = reply["error"]["message"].as_str().expect("v2 error message");
        assert!(message.contains(phrase), "'{message}' should mention '{phrase}'");
    }
    let (status, reply) = call(&server, reqwest::Method::GET, "/v1/video_status.get", None).await;
    assert_eq!(status, 400, "{reply}");
    assert!(reply["message"].as_str().expect("message").contains("video_id"));
    let (status, reply) = call(&server, reqwest::Method::GET, "/v1/video_status.get?video_id=unknown", None).await;
    assert_eq!(status, 404, "{reply}");
    let (status, reply) = call(&server, reqwest::Method::GET, "/v2/no/such/endpoint", None).await;
    assert_eq!(status, 404, "{reply}");
    assert!(reply["error"]["message"].is_string());
}

#[tokio::test]
async fn talking_photo_options_shape_the_video() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let green = png_of(&image::RgbImage::from_pixel(320, 180, image::Rgb([0, 200, 0])));
    let (status, asset) = upload(&server, "image/png", green).await;
    assert_eq!(status, 200, "{asset}");
    let (status, generated) = generate(
        &server,
        json!({
            "video_inputs": [{
                "character": {"type": "talking_photo", "talking_photo_id": group_id, "talking_photo_style": "circle",
                              "scale": 0.8, "offset": {"x": 0.1, "y": 0.0}, "talking_style": "expressive",
                              "expression": "happy"},
                "voice": {"type": "text", "input_text": "Hello from inside a circle.", "voice_id": "en-gb-male"},
                "background": {"type": "image", "image_asset_id": asset["data"]["id"]}
            }],
            "dimension": {"width": 641, "height": 361}
        }),
    )
    .await;
    assert_eq!(status, 200, "{generated}");
    assert_eq!(
        generated["data"]["dimension"],
        json!({"width": 640, "height": 360}),
        "odd sides are rounded, and said so"
    );
    let done = wait_for_video(&server, generated["data"]["video_id"].as_str().expect("video_id")).await;
    let dir = tempfile::tempdir().expect("temp");
    let video = dir.path().join("circle.mp4");
    download(done["video_url"].as_str().expect("video_url"), &video).await;
    let frames = decode_frames(&video, 640, 360);
    let first = &frames[0];
    let pixel = |x: usize, y: usize| first[(y * 640 + x) * 3..(y * 640 + x) * 3 + 3].to_vec();
    for (x, y) in [(5, 5), (5, 350), (120, 180)] {
        let p = pixel(x, y);
        assert!(p[1] > 180 && p[0] < 30 && p[2] < 30, "the background image shows at ({x}, {y}): {p:?}");
    }
    // Circle of diameter 0.8 × 360 = 288 px centred at x = 320 + 64: its centre shows the photo.
    let centre = pixel(384, 180);
    assert!(!(centre[1] > 180 && centre[0] < 30), "the photo shows in the circle: {centre:?}");
}

#[tokio::test]
async fn silence_pauses_and_speed_shape_the_audio() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let scene = |voice: Value| {
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id}, "voice": voice}],
               "dimension": {"width": 320, "height": 240}})
    };
    let mut durations = Vec::new();
    for voice in [
        json!({"type": "silence", "duration": "2.5"}),
        json!({"type": "text", "input_text": "One, two, three, four, five, six.", "voice_id": "en-us-male"}),
        json!({"type": "text", "input_text": "One, two, three, four, five, six.", "voice_id": "en-us-male", "speed": "1.5"}),
        json!({"type": "text", "input_text": "One. <break time=\"2s\"/> Two.", "voice_id": "en-us-male", "pitch": 20}),
    ] {
        let (status, generated) = generate(&server, scene(voice.clone())).await;
        assert_eq!(status, 200, "{voice} → {generated}");
        let done = wait_for_video(&server, generated["data"]["video_id"].as_str().expect("video_id")).await;
        durations.push(done["duration"].as_f64().expect("duration"));
    }
    assert!((durations[0] - 2.5).abs() < 0.05, "silence of 2.5 s: {}", durations[0]);
    assert!(durations[2] < 0.8 * durations[1], "speed 1.5 is shorter: {durations:?}");
    assert!(durations[3] > 2.5, "a 2 s break lengthens the video: {durations:?}");
}

/// Mono 16 kHz samples of a video's sound.
fn decode_audio_track(video: &Path) -> Vec<f32> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(video)
        .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg");
    output.stdout.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0).collect()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let (va, vb): (f64, f64) = (a.iter().map(|x| (x - ma).powi(2)).sum(), b.iter().map(|y| (y - mb).powi(2)).sum());
    cov / (va.sqrt() * vb.sqrt()).max(1e-12)
}

/// Serves `files` (path, Content-Type, bytes) on loopback; `/moved`
/// redirects to the first, anything else is a 404.
async fn file_server(files: Vec<(&'static str, &'static str, Vec<u8>)>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buffer[..n]),
                }
            }
            let path = String::from_utf8_lossy(&head).split_whitespace().nth(1).unwrap_or("").to_string();
            let reply = match files.iter().find(|(p, _, _)| *p == path) {
                Some((_, content_type, bytes)) => {
                    let mut reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                        bytes.len()
                    )
                    .into_bytes();
                    reply.extend_from_slice(bytes);
                    reply
                }
                None if path == "/moved" => {
                    format!("HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n", files[0].0).into_bytes()
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&reply).await;
        }
    });
    base
}

#[tokio::test]
async fn media_urls_in_a_request_are_fetched_safely() {
    let server = start_server_with(&["--allow-private-urls"]).await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let dir = tempfile::tempdir().expect("temp");
    let recording = dir.path().join("recording.wav");
    let spoken =
        speech::synthesize("Fetched from a URL.", "en-gb-female", speech::SpeechOptions::default()).expect("speech");
    media::write_wav(&recording, spoken.sample_rate, &spoken.samples).expect("wav");
    let green = png_of(&image::RgbImage::from_pixel(320, 180, image::Rgb([0, 200, 0])));
    let base = file_server(vec![
        ("/recording.wav", "audio/wav", std::fs::read(&recording).expect("read")),
        ("/green.png", "application/octet-stream", green),
        ("/notes.txt", "text/plain", b"not a picture".to_vec()),
    ])
    .await;
    let order = |voice: Value, background: Value| {
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                 "voice": voice, "background": background}],
               "dimension": {"width": 256, "height": 144}})
    };
    let text = json!({"type": "text", "input_text": "Hi", "voice_id": "en-us-female"});
    let white = json!({"type": "color", "value": "#ffffff"});
    for (body, phrase) in [
        (order(json!({"type": "audio", "audio_url": format!("{base}/moved")}), white.clone()), "redirects"),
        (order(json!({"type": "audio", "audio_url": format!("{base}/gone.wav")}), white.clone()), "HTTP 404"),
        (order(json!({"type": "audio", "audio_url": format!("{base}/notes.txt")}), white.clone()), "no audio stream"),
        (order(text.clone(), json!({"type": "image", "url": format!("{base}/notes.txt")})), "background.url"),
    ] {
        let (status, reply) = generate(&server, body.clone()).await;
        assert_eq!(status, 400, "{body} → {reply}");
        let message = reply["error"]["message"].as_str().expect("message");
        assert!(message.contains(phrase), "'{message}' should mention '{phrase}'");
    }

    let (status, by_url) = generate(
        &server,
        order(
            json!({"type": "audio", "audio_url": format!("{base}/recording.wav")}),
            json!({"type": "image", "url": format!("{base}/green.png")}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{by_url}");
    let done = wait_for_video(&server, by_url["data"]["video_id"].as_str().expect("video_id")).await;
    let duration = done["duration"].as_f64().expect("duration");
    assert!((duration - f64::from(spoken.duration())).abs() < 0.05, "{duration} vs {}", spoken.duration());
    let video = dir.path().join("video.mp4");
    download(done["video_url"].as_str().expect("video_url"), &video).await;
    let frames = decode_frames(&video, 256, 144);
    let corner = &frames[0][..3];
    assert!(corner[1] > 150 && corner[0] < 60 && corner[2] < 60, "the fetched background shows: {corner:?}");
}

#[tokio::test]
async fn an_uploaded_recording_drives_the_mouth() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let (status, body) = upload(&server, "audio/wav", b"RIFF but not really a wave file".to_vec()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().expect("message").contains("no audio stream"), "{body}");

    let dir = tempfile::tempdir().expect("temp");
    let recording = dir.path().join("recording.wav");
    let spoken = speech::synthesize(
        "This recording was made elsewhere. <break time=\"1s\"/> The mouth should follow it anyway.",
        "en-gb-male",
        speech::SpeechOptions::default(),
    )
    .expect("speech");
    media::write_wav(&recording, spoken.sample_rate, &spoken.samples).expect("wav");
    let (status, asset) = upload(&server, "audio/wav", std::fs::read(&recording).expect("read")).await;
    assert_eq!(status, 200, "{asset}");
    assert_eq!(asset["data"]["file_type"], "audio");
    let (status, generated) = generate(
        &server,
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                 "voice": {"type": "audio", "audio_asset_id": asset["data"]["id"]}}],
               "dimension": {"width": 720, "height": 406}}),
    )
    .await;
    assert_eq!(status, 200, "{generated}");
    let done = wait_for_video(&server, generated["data"]["video_id"].as_str().expect("video_id")).await;
    let duration = done["duration"].as_f64().expect("duration");
    assert!((duration - f64::from(spoken.duration())).abs() < 0.05, "{duration} vs {}", spoken.duration());

    let video = dir.path().join("video.mp4");
    download(done["video_url"].as_str().expect("video_url"), &video).await;
    let frames = decode_frames(&video, 720, 406);
    let sound = decode_audio_track(&video);
    // Mouth activity: how far the mouth region is from the first (closed) frame.
    let activity: Vec<f64> = frames
        .iter()
        .map(|frame| {
            let mut total = 0u64;
            for y in 104..128 {
                for x in 318..352 {
                    let at = (y * 720 + x) * 3;
                    total += (0..3).map(|c| u64::from(frame[at + c].abs_diff(frames[0][at + c]))).sum::<u64>();
                }
            }
            total as f64
        })
        .collect();
    let loudness: Vec<f64> = (0..frames.len())
        .map(|i| {
            let window = &sound[(i * 640).min(sound.len())..((i + 1) * 640).min(sound.len())];
            (window.iter().map(|s| f64::from(s * s)).sum::<f64>() / window.len().max(1) as f64).sqrt()
        })
        .collect();
    let r = correlation(&activity, &loudness);
    eprintln!("uploaded recording: mouth activity correlates {r:.3} with loudness");
    assert!(r > 0.5, "the mouth follows the recording: {r:.3}");
}

#[tokio::test]
async fn libraries_page_delete_and_stay_within_their_tenant() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let mut video_ids = Vec::new();
    for _ in 0..3 {
        let (status, generated) = generate(
            &server,
            json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                     "voice": {"type": "silence", "duration": 1}}],
                   "dimension": {"width": 128, "height": 128}, "title": "quiet"}),
        )
        .await;
        assert_eq!(status, 200, "{generated}");
        video_ids.push(generated["data"]["video_id"].as_str().expect("video_id").to_string());
    }
    for id in &video_ids {
        wait_for_video(&server, id).await;
    }

    // Pages of two, newest first, continued by the token.
    let get = reqwest::Method::GET;
    let (status, first) = call(&server, get.clone(), "/v1/video.list?limit=2", None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["code"], 100);
    let page: Vec<&str> = first["data"]["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| v["video_id"].as_str().expect("id"))
        .collect();
    assert_eq!(page.len(), 2);
    assert!(first["data"]["videos"][0]["created_at"].is_i64() && first["data"]["videos"][0]["status"] == "completed");
    let token = first["data"]["token"].as_str().expect("a token while more remain").to_string();
    let (_, second) = call(&server, get.clone(), &format!("/v1/video.list?limit=2&token={token}"), None).await;
    let rest: Vec<&str> = second["data"]["videos"]
        .as_array()
        .expect("videos")
        .iter()
        .map(|v| v["video_id"].as_str().expect("id"))
        .collect();
    assert_eq!(rest.len(), 1);
    assert!(second["data"]["token"].is_null());
    let mut all: Vec<&str> = page.iter().chain(rest.iter()).copied().collect();
    all.sort();
    let mut expected: Vec<&str> = video_ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(all, expected, "every video once");
    let (status, _) = call(&server, get.clone(), "/v1/video.list?token=garbage", None).await;
    assert_eq!(status, 400);

    // The avatar, as every list shows it.
    let (_, groups) = call(&server, get.clone(), "/v2/avatar_group.list", None).await;
    let group = &groups["data"]["avatar_group_list"][0];
    assert_eq!(group["id"], group_id.as_str());
    assert!(
        group["created_at"].is_i64()
            && group["num_looks"] == 1
            && group["preview_image"].as_str().expect("url").starts_with("http")
    );
    let (_, looks) = call(&server, get.clone(), &format!("/v2/avatar_group/{group_id}/avatars"), None).await;
    let look = &looks["data"]["avatar_list"][0];
    for field in ["id", "name", "avatar_id", "avatar_name", "gender", "preview_image_url", "preview_video_url"] {
        assert!(look[field].is_string(), "{field} in {look}");
    }
    assert_eq!(look["premium"], false);
    let (_, avatars) = call(&server, get.clone(), "/v2/avatars", None).await;
    assert_eq!(avatars["data"]["avatars"][0]["avatar_id"], group_id.as_str());
    let (_, photos) = call(&server, get.clone(), "/v1/talking_photo.list", None).await;
    assert_eq!(photos["data"][0]["id"], group_id.as_str());

    // Another tenant sees none of it, and cannot touch it: 404, as if it did not exist.
    let other = server.another_key();
    let (_, theirs) = call_as(&server, &other, get.clone(), "/v1/video.list").await;
    assert_eq!(theirs["data"]["videos"].as_array().expect("videos").len(), 0);
    let (_, theirs) = call_as(&server, &other, get.clone(), "/v2/avatar_group.list").await;
    assert_eq!(theirs["data"]["avatar_group_list"].as_array().expect("groups").len(), 0);
    for (method, path) in [
        (get.clone(), format!("/v1/video_status.get?video_id={}", video_ids[0])),
        (reqwest::Method::DELETE, format!("/v1/video.delete?video_id={}", video_ids[0])),
        (get.clone(), format!("/v2/photo_avatar/train/status/{group_id}")),
        (get.clone(), format!("/v2/avatar_group/{group_id}/avatars")),
        (reqwest::Method::DELETE, format!("/v1/talking_photo/{group_id}")),
    ] {
        let (status, reply) = call_as(&server, &other, method, &path).await;
        assert_eq!(status, 404, "{path}: {reply}");
    }
    let (_, mine) = upload(&server, "image/png", ASTRONAUT.to_vec()).await;
    let (_, hook) = call(
        &server,
        reqwest::Method::POST,
        "/v1/webhook/endpoint.add",
        Some(json!({"url": "http://93.184.215.14/hook"})),
    )
    .await;
    let endpoint_id = hook["data"]["endpoint_id"].as_str().expect("endpoint id");
    let scene = json!([{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                        "voice": {"type": "silence", "duration": 1}}]);
    for (path, body) in [
        ("/v2/photo_avatar/avatar_group/create", json!({"image_key": mine["data"]["image_key"]})),
        ("/v2/photo_avatar/train", json!({"group_id": group_id})),
        ("/v2/video/generate", json!({"video_inputs": scene})),
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", server.base))
            .header("X-Api-Key", &other)
            .json(&body)
            .send()
            .await
            .expect(path);
        let (status, reply) = json_of(response).await;
        assert_eq!(status, 404, "{path} with another tenant's id: {reply}");
    }
    let path = format!("/v1/webhook/endpoint.delete?endpoint_id={endpoint_id}");
    let (status, reply) = call_as(&server, &other, reqwest::Method::DELETE, &path).await;
    assert_eq!(status, 404, "{path}: {reply}");
    for (path, list) in
        [("/v2/avatars", "/data/avatars"), ("/v1/talking_photo.list", "/data"), ("/v1/webhook/endpoint.list", "/data")]
    {
        let (_, theirs) = call_as(&server, &other, get.clone(), path).await;
        assert_eq!(theirs.pointer(list).and_then(Value::as_array).map(Vec::len), Some(0), "{path}: {theirs}");
    }

    // Deleting a video removes it and its files.
    let (_, status_reply) =
        call(&server, get.clone(), &format!("/v1/video_status.get?video_id={}", video_ids[0]), None).await;
    let video_url = status_reply["data"]["video_url"].as_str().expect("url").to_string();
    let (status, _) =
        call(&server, reqwest::Method::DELETE, &format!("/v1/video.delete?video_id={}", video_ids[0]), None).await;
    assert_eq!(status, 200);
    let (status, _) =
        call(&server, get.clone(), &format!("/v1/video_status.get?video_id={}", video_ids[0]), None).await;
    assert_eq!(status, 404);
    assert_eq!(reqwest::get(&video_url).await.expect("get").status().as_u16(), 404, "the file is gone");
    let (_, left) = call(&server, get.clone(), "/v1/video.list", None).await;
    assert_eq!(left["data"]["videos"].as_array().expect("videos").len(), 2);
    // Deleting the talking photo keeps the videos made with it.
    let (status, _) = call(&server, reqwest::Method::DELETE, &format!("/v1/talking_photo/{group_id}"), None).await;
    assert_eq!(status, 200);
    let (_, groups) = call(&server, get.clone(), "/v2/avatar_group.list", None).await;
    assert_eq!(groups["data"]["total_count"], 0);
    let (status, _) = call(&server, get, &format!("/v1/video_status.get?video_id={}", video_ids[1]), None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_render_cut_off_by_a_crash_finishes_after_restart() {
    let mut server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let text = "This is a long sentence, spoken slowly, so that the video takes a while to make. ".repeat(6);
    let (status, generated) = generate(
        &server,
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                 "voice": {"type": "text", "input_text": text, "speed": 0.7}}],
               "dimension": {"width": 1280, "height": 720}}),
    )
    .await;
    assert_eq!(status, 200, "{generated}");
    let video_id = generated["data"]["video_id"].as_str().expect("video_id").to_string();
    // Wait until rendering is under way, then pull the plug.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, reply) =
            call(&server, reqwest::Method::GET, &format!("/v1/video_status.get?video_id={video_id}"), None).await;
        let progress = reply["data"]["progress"].as_f64().unwrap_or(0.0);
        if reply["data"]["status"] == "processing" && progress >= 20.0 {
            assert!(progress < 100.0, "still rendering when killed");
            break;
        }
        assert_ne!(reply["data"]["status"], "completed", "the video finished before the crash; make it longer");
        assert!(Instant::now() < deadline, "rendering never got going");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.crash_and_restart().await;
    let done = wait_for_video(&server, &video_id).await;
    let dir = tempfile::tempdir().expect("temp");
    let video = dir.path().join("after-crash.mp4");
    download(done["video_url"].as_str().expect("video_url"), &video).await;
    let info = media::probe(&video).expect("a whole, readable MP4");
    assert_eq!(info.streams_of("video").len(), 1);
    let seconds = info.streams_of("video")[0].duration_seconds().expect("duration");
    assert!((seconds - done["duration"].as_f64().expect("duration")).abs() < 0.05);
    assert!(seconds > 20.0, "the whole text: {seconds} s");
}

#[tokio::test]
async fn quotas_limit_keys_and_revoked_keys_stop_working() {
    let mut server = start_server().await;
    let get = reqwest::Method::GET;
    let (_, unlimited) = call(&server, get.clone(), "/v2/user/remaining_quota", None).await;
    assert_eq!(unlimited["data"]["remaining_quota"], 2_147_483_647);
    for field in ["api", "streaming_avatar", "streaming_avatar_instance_quota", "seat"] {
        assert!(unlimited["data"]["details"][field].is_i64(), "{field}: {unlimited}");
    }

    let limited = server
        .keys(&["create", "--name", "trial", "--quota-seconds", "2"])
        .lines()
        .last()
        .expect("key")
        .trim()
        .to_string();
    let (_, quota) = call_as(&server, &limited, get.clone(), "/v2/user/remaining_quota").await;
    assert_eq!(quota["data"]["remaining_quota"], 2);
    // A talking photo of the limited key, then one video that uses the quota up.
    let main_key = std::mem::replace(&mut server.key, limited.clone());
    let as_limited = &server;
    let group_id = create_avatar(as_limited, ASTRONAUT.to_vec()).await;
    let silence = json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                           "voice": {"type": "silence", "duration": 3}}],
                         "dimension": {"width": 128, "height": 128}});
    let (status, generated) = generate(as_limited, silence.clone()).await;
    assert_eq!(status, 200, "{generated}");
    wait_for_video(as_limited, generated["data"]["video_id"].as_str().expect("id")).await;
    let (_, quota) = call_as(&server, &limited, get.clone(), "/v2/user/remaining_quota").await;
    assert_eq!(quota["data"]["remaining_quota"], 0);
    let (status, refused) = generate(as_limited, silence).await;
    server.key = main_key;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().expect("message").contains("quota"), "{refused}");

    let listing = server.keys(&["list"]);
    let trial = listing.lines().find(|l| l.contains("trial")).expect("the trial key is listed");
    assert!(trial.contains("active") && trial.contains(" 2 ") && !listing.contains("mp_"), "{listing}");
    let id = trial.split_whitespace().next().expect("id");
    server.keys(&["revoke", id]);
    let (status, _) = call_as(&server, &limited, get, "/v2/voices").await;
    assert_eq!(status, 401, "a revoked key stops working");
    assert!(server.keys(&["list"]).lines().any(|l| l.contains("trial") && l.contains("revoked")));
}

#[tokio::test]
async fn captions_come_as_srt_and_drawn_into_a_copy() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let (status, generated) = generate(
        &server,
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                 "voice": {"type": "text", "input_text": "Captions help people who watch without sound."}}],
               "dimension": {"width": 480, "height": 270}, "caption": "true"}),
    )
    .await;
    assert_eq!(status, 200, "{generated}");
    let done = wait_for_video(&server, generated["data"]["video_id"].as_str().expect("video_id")).await;
    let srt = reqwest::get(done["caption_url"].as_str().expect("caption_url"))
        .await
        .expect("srt")
        .text()
        .await
        .expect("text");
    assert!(srt.starts_with("1\n00:00:0"), "{srt}");
    assert!(srt.contains("Captions help people") && srt.contains("sound"), "{srt}");
    let dir = tempfile::tempdir().expect("temp");
    let (plain, captioned) = (dir.path().join("plain.mp4"), dir.path().join("captioned.mp4"));
    download(done["video_url"].as_str().expect("video_url"), &plain).await;
    download(done["video_url_caption"].as_str().expect("video_url_caption"), &captioned).await;
    let info = media::probe(&captioned).expect("probe");
    assert_eq!((info.streams_of("video").len(), info.streams_of("audio").len()), (1, 1));
    // The lower part of a frame in the middle differs where the text is drawn.
    let middle = |video: &Path| decode_frames(video, 480, 270).swap_remove(20);
    let (a, b) = (middle(&plain), middle(&captioned));
    let lower = 200 * 480 * 3..270 * 480 * 3;
    let changed = a[lower.clone()].iter().zip(&b[lower]).filter(|(x, y)| x.abs_diff(**y) > 60).count();
    assert!(changed > 500, "captions are drawn into the picture ({changed} values changed)");
    let (status, bad) = generate(
        &server,
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                 "voice": {"type": "text", "input_text": "Hi"}}], "caption": "maybe"}),
    )
    .await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn scenes_play_one_after_another() {
    let server = start_server().await;
    let colour = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let grey_photo = image::DynamicImage::ImageRgb8(image::load_from_memory(ASTRONAUT).expect("png").to_rgb8())
        .grayscale()
        .to_rgb8();
    let grey = create_avatar(&server, png_of(&grey_photo)).await;
    let text = |id: &str, words: &str| {
        json!({"character": {"type": "talking_photo", "talking_photo_id": id},
               "voice": {"type": "text", "input_text": words, "voice_id": "en-us-male"}})
    };
    let scenes = json!([
        text(&colour, "First, the colour photo speaks."),
        {"character": {"type": "talking_photo", "talking_photo_id": grey}, "voice": {"type": "silence", "duration": 1.5}},
        text(&grey, "Then the grey one answers."),
    ]);
    let (status, generated) =
        generate(&server, json!({"video_inputs": scenes, "dimension": {"width": 320, "height": 240}, "caption": true}))
            .await;
    assert_eq!(status, 200, "{generated}");
    let done = wait_for_video(&server, generated["data"]["video_id"].as_str().expect("video_id")).await;
    let dir = tempfile::tempdir().expect("temp");
    let video = dir.path().join("scenes.mp4");
    download(done["video_url"].as_str().expect("video_url"), &video).await;
    let frames = decode_frames(&video, 320, 240);
    let duration = done["duration"].as_f64().expect("duration");
    assert!((frames.len() as f64 - duration * 25.0).abs() <= 1.0);
    // The first frame is in colour, the last in grey.
    let saturation = |frame: &Vec<u8>| {
        frame
            .chunks_exact(3)
            .map(|p| u32::from(p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0)))
            .sum::<u32>()
            / (320 * 240)
    };
    assert!(saturation(&frames[0]) > 20, "scene 1 is the colour photo");
    assert!(saturation(frames.last().expect("frames")) < 6, "scene 3 is the grey photo");
    let srt = reqwest::get(done["caption_url"].as_str().expect("caption_url"))
        .await
        .expect("srt")
        .text()
        .await
        .expect("text");
    let cues: Vec<&str> = srt.split("\n\n").filter(|c| !c.trim().is_empty()).collect();
    let last = cues.last().expect("cues");
    assert!(last.contains("answers"), "{srt}");
    let start: f64 =
        last.lines().nth(1).and_then(|l| l.get(6..12)).and_then(|s| s.replace(',', ".").parse().ok()).expect("start");
    assert!(start > 2.5, "the third scene's words come after the first two scenes: {srt}");

    let one = text(&colour, "Hi");
    let (status, reply) = generate(&server, json!({"video_inputs": vec![one.clone(); 51]})).await;
    assert_eq!(status, 400, "{reply}");
    let (status, reply) = generate(&server, json!({"video_inputs": [one, text(&colour, "")]})).await;
    assert_eq!(status, 400, "{reply}");
    assert!(
        reply["error"]["message"].as_str().expect("message").starts_with("video_inputs[1].voice.input_text: "),
        "{reply}"
    );
}

#[tokio::test]
async fn webhooks_announce_videos_signed_and_retried() {
    let strict = start_server().await;
    let (status, refused) = call(
        &strict,
        reqwest::Method::POST,
        "/v1/webhook/endpoint.add",
        Some(json!({"url": "http://127.0.0.1:9/hook"})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().expect("message").contains("private"), "{refused}");
    drop(strict);

    let server = start_server_with(&["--allow-private-urls"]).await;
    let (base, mut received) = webhook_receiver().await;
    let (status, endpoint) = call(
        &server,
        reqwest::Method::POST,
        "/v1/webhook/endpoint.add",
        Some(json!({"url": format!("{base}/hook"), "events": ["avatar_video.success", "avatar_video.fail"]})),
    )
    .await;
    assert_eq!(status, 200, "{endpoint}");
    let secret = endpoint["data"]["secret"].as_str().expect("secret").to_string();
    let endpoint_id = endpoint["data"]["endpoint_id"].as_str().expect("id").to_string();
    let (_, listed) = call(&server, reqwest::Method::GET, "/v1/webhook/endpoint.list", None).await;
    assert_eq!(listed["data"][0]["endpoint_id"], endpoint_id.as_str());
    let (_, events) = call(&server, reqwest::Method::GET, "/v1/webhook/webhook.list", None).await;
    assert_eq!(events["data"], json!(["avatar_video.success", "avatar_video.fail", "batch.finished"]));

    let good = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let blank = create_avatar(&server, png_of(&image::RgbImage::from_pixel(300, 300, image::Rgb([90, 90, 90])))).await;
    let scene = |id: &str| json!([{"character": {"type": "talking_photo", "talking_photo_id": id}, "voice": {"type": "silence", "duration": 1}}]);
    let (_, ok) = generate(
        &server,
        json!({"video_inputs": scene(&good), "dimension": {"width": 128, "height": 128},
               "callback_id": "order-42", "callback_url": format!("{base}/callback")}),
    )
    .await;
    let (_, bad) =
        generate(&server, json!({"video_inputs": scene(&blank), "dimension": {"width": 128, "height": 128}})).await;
    let (ok_id, bad_id) = (ok["data"]["video_id"].as_str().expect("id"), bad["data"]["video_id"].as_str().expect("id"));

    // Expected: success to /hook (after one refused attempt), success to /callback, fail to /hook.
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < 3 {
        let left = deadline.saturating_duration_since(Instant::now());
        let next =
            tokio::time::timeout(left, received.recv()).await.expect("webhooks arrive in time").expect("receiver");
        got.push(next);
    }
    let key_hash: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(server.key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    for delivery in &got {
        let body: Value = serde_json::from_str(&delivery.body).expect("JSON body");
        let expected = if delivery.path == "/callback" {
            hmac_hex(&key_hash, &delivery.body)
        } else {
            hmac_hex(&secret, &delivery.body)
        };
        assert_eq!(delivery.signature, expected, "signed: {delivery:?}");
        match (delivery.path.as_str(), body["event_type"].as_str()) {
            ("/hook" | "/callback", Some("avatar_video.success")) => {
                assert_eq!(body["event_data"]["video_id"], ok_id);
                assert_eq!(body["event_data"]["callback_id"], "order-42");
                assert!(body["event_data"]["url"].as_str().expect("url").ends_with(".mp4"));
                assert!(body["event_data"]["gif_download_url"].as_str().expect("gif").ends_with(".gif"));
            }
            ("/hook", Some("avatar_video.fail")) => {
                assert_eq!(body["event_data"]["video_id"], bad_id);
                assert!(body["event_data"]["msg"].as_str().expect("msg").contains("no face"), "{body}");
            }
            other => panic!("unexpected delivery {other:?}: {delivery:?}"),
        }
    }
    assert_eq!(got.iter().filter(|d| d.path == "/callback").count(), 1);

    let (status, _) =
        call(&server, reqwest::Method::DELETE, &format!("/v1/webhook/endpoint.delete?endpoint_id={endpoint_id}"), None)
            .await;
    assert_eq!(status, 200);
    let (_, listed) = call(&server, reqwest::Method::GET, "/v1/webhook/endpoint.list", None).await;
    assert_eq!(listed["data"], json!([]));
}

/// The Python environment with the HeyGen client (scripts/test-env.sh, run by ./test.sh).
fn test_python() -> std::path::PathBuf {
    std::env::var_os("MOUTHPIECE_TEST_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-venv/bin/python"))
}

/// Runs a HeyGen client driver of tests/heygen_client against `server`,
/// with `python_path` first on the import path, and returns what it printed.
async fn drive_heygen_client(server: &Server, driver: &str, python_path: Option<&Path>) -> String {
    let python = test_python();
    assert!(python.exists(), "{} is missing: run scripts/test-env.sh (./test.sh does)", python.display());
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/portraits/astronaut.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/heygen_client").join(driver);
    let mut command = tokio::process::Command::new(&python);
    if let Some(path) = python_path {
        assert!(path.exists(), "{} is missing: run scripts/test-env.sh (./test.sh does)", path.display());
        command.env("PYTHONPATH", path);
    }
    let output =
        command.arg(&script).arg(&server.base).arg(&server.key).arg(&photo).output().await.expect("run the client");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    eprintln!("{stdout}");
    stdout
}

#[tokio::test]
async fn a_heygen_client_library_works_with_only_its_base_url_changed() {
    let server = start_server().await;
    let stdout = drive_heygen_client(&server, "drive.py", None).await;
    assert!(stdout.contains("HeyGen client: 73 voices"), "{stdout}");
}

#[tokio::test]
async fn the_first_heygen_mcp_client_works_with_only_its_base_url_changed() {
    let server = start_server().await;
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/heygen-mcp-0.0.3");
    let stdout = drive_heygen_client(&server, "drive_heygen_mcp.py", Some(&folder)).await;
    assert!(stdout.contains("heygen-mcp 0.0.3: 73 voices"), "{stdout}");
}

#[tokio::test]
async fn every_reply_matches_the_openapi_contract() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let get = reqwest::Method::GET;
    let (post, delete) = (reqwest::Method::POST, reqwest::Method::DELETE);

    // Every documented path is served (an unknown one answers "is not an endpoint").
    let paths = contract.document["paths"].as_object().expect("paths").clone();
    assert!(paths.len() >= 19, "{} paths", paths.len());
    for (path, methods) in &paths {
        for method in methods.as_object().expect("methods").keys() {
            let concrete = path.replace("{group_id}", "nope").replace("{id}", "nope");
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let (_, reply) = call(&server, method.clone(), &concrete, None).await;
            let message = reply["message"].as_str().or(reply["error"]["message"].as_str()).unwrap_or("");
            assert!(!message.contains("is not an endpoint"), "{method} {path}: {reply}");
        }
    }
    for (page, kind) in [("/docs", "text/html"), ("/docs/swagger-ui-bundle.js", "text/javascript")] {
        let response = reqwest::get(format!("{}{page}", server.base)).await.expect("docs");
        assert_eq!(response.status().as_u16(), 200, "{page}");
        let content_type = response.headers()["content-type"].to_str().unwrap_or("").to_string();
        assert!(content_type.starts_with(kind), "{page}: {content_type}");
    }

    let (status, asset) = upload(&server, "image/png", ASTRONAUT.to_vec()).await;
    contract.check("post", "/v1/asset", status, &asset);
    let (status, reply) = upload(&server, "image/gif", b"GIF89a".to_vec()).await;
    contract.check("post", "/v1/asset", status, &reply);
    let image_key = asset["data"]["image_key"].as_str().expect("image_key");
    let (status, group) = call(
        &server,
        post.clone(),
        "/v2/photo_avatar/avatar_group/create",
        Some(json!({"name": "contract", "image_key": image_key})),
    )
    .await;
    contract.check("post", "/v2/photo_avatar/avatar_group/create", status, &group);
    let group_id = group["data"]["id"].as_str().expect("id").to_string();
    let (status, reply) =
        call(&server, post.clone(), "/v2/photo_avatar/train", Some(json!({"group_id": group_id}))).await;
    contract.check("post", "/v2/photo_avatar/train", status, &reply);
    let (status, reply) = call(&server, post.clone(), "/v2/photo_avatar/train", Some(json!({"group": 1}))).await;
    contract.check("post", "/v2/photo_avatar/train", status, &reply);
    let status_path = format!("/v2/photo_avatar/train/status/{group_id}");
    let (status, reply) = call(&server, get.clone(), &status_path, None).await;
    contract.check("get", "/v2/photo_avatar/train/status/{group_id}", status, &reply);
    let (status, reply) = call(&server, get.clone(), "/v2/photo_avatar/train/status/nope", None).await;
    contract.check("get", "/v2/photo_avatar/train/status/{group_id}", status, &reply);

    for path in ["/v2/avatar_group.list", "/v2/avatars", "/v2/voices", "/v2/user/remaining_quota"] {
        let (status, reply) = call(&server, get.clone(), path, None).await;
        contract.check("get", path, status, &reply);
    }
    for path in ["/v1/talking_photo.list", "/v1/webhook/endpoint.list", "/v1/webhook/webhook.list"] {
        let (status, reply) = call(&server, get.clone(), path, None).await;
        contract.check("get", path, status, &reply);
    }
    let (status, reply) = call(&server, get.clone(), &format!("/v2/avatar_group/{group_id}/avatars"), None).await;
    contract.check("get", "/v2/avatar_group/{group_id}/avatars", status, &reply);

    // Two scenes: a silence, and the neural voice with an emotion (stored with the order, used by the worker).
    let scene = json!([{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                        "voice": {"type": "silence", "duration": 1}},
                       {"character": {"type": "talking_photo", "talking_photo_id": group_id},
                        "voice": {"type": "text", "input_text": "Calm.", "voice_id": "en-us-joe", "emotion": "soothing"}}]);
    let (status, generated) =
        generate(&server, json!({"video_inputs": scene, "dimension": {"width": 129, "height": 128}})).await;
    contract.check("post", "/v2/video/generate", status, &generated);
    let (status, reply) = generate(&server, json!({"video_inputs": []})).await;
    contract.check("post", "/v2/video/generate", status, &reply);
    let video_id = generated["data"]["video_id"].as_str().expect("video_id").to_string();
    let status_of = format!("/v1/video_status.get?video_id={video_id}");
    let (status, reply) = call(&server, get.clone(), &status_of, None).await;
    contract.check("get", "/v1/video_status.get", status, &reply);
    wait_for_video(&server, &video_id).await;
    let (status, reply) = call(&server, get.clone(), &status_of, None).await;
    contract.check("get", "/v1/video_status.get", status, &reply);
    let (status, reply) = call(&server, get.clone(), "/v1/video_status.get?video_id=nope", None).await;
    contract.check("get", "/v1/video_status.get", status, &reply);
    let (status, reply) = call(&server, get.clone(), "/v1/video.list?limit=1", None).await;
    contract.check("get", "/v1/video.list", status, &reply);

    // Operators' endpoints answer without a key.
    for (path, expected) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = reqwest::get(format!("{}{path}", server.base)).await.expect(path);
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["status"], expected, "{path}: {body}");
    }
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.expect("metrics").text().await.expect("text");
    for line in [
        r#"mouthpiece_jobs_finished_total{kind="video",outcome="done"} 1"#,
        r#"mouthpiece_jobs{kind="video",state="done"} 1"#,
        r#"mouthpiece_stage_seconds_count{stage="render"} 1"#,
        "mouthpiece_workers 2",
    ] {
        assert!(metrics.contains(line), "/metrics has {line}:\n{metrics}");
    }
    // The video was ordered before its photo's training finished, so the
    // video job may have analysed the photo too, at the same time (both
    // store the same rig): once or twice, never more.
    let analyses = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"mouthpiece_stage_seconds_count{stage="face_analysis"} "#))
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(matches!(analyses, Some(1 | 2)), "face analyses: {analyses:?}\n{metrics}");

    let (status, endpoint) = call(
        &server,
        post.clone(),
        "/v1/webhook/endpoint.add",
        Some(json!({"url": "http://93.184.215.14/mouthpiece"})),
    )
    .await;
    contract.check("post", "/v1/webhook/endpoint.add", status, &endpoint);
    let endpoint_id = endpoint["data"]["endpoint_id"].as_str().unwrap_or("nope");
    let (status, reply) =
        call(&server, delete.clone(), &format!("/v1/webhook/endpoint.delete?endpoint_id={endpoint_id}"), None).await;
    contract.check("delete", "/v1/webhook/endpoint.delete", status, &reply);

    let (status, reply) = call(&server, delete.clone(), &format!("/v1/video.delete?video_id={video_id}"), None).await;
    contract.check("delete", "/v1/video.delete", status, &reply);
    let (status, reply) = call(&server, delete.clone(), &format!("/v1/talking_photo/{group_id}"), None).await;
    contract.check("delete", "/v1/talking_photo/{id}", status, &reply);
    let (status, reply) = call_as(&server, "mp_wrong", get.clone(), "/v2/voices").await;
    contract.check("get", "/v2/voices", status, &reply);
}

#[tokio::test]
async fn status_polls_under_load_and_a_hundred_queued_videos() {
    let server = start_server().await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let order = |voice: Value, size: u32| {
        json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id}, "voice": voice}],
               "dimension": {"width": size, "height": size}})
    };
    let mut rendering = Vec::new();
    for index in 0..4 {
        let text = format!("Video number {index} renders while twenty clients ask how it is going.");
        let (status, reply) = generate(&server, order(json!({"type": "text", "input_text": text}), 256)).await;
        assert_eq!(status, 200, "{reply}");
        rendering.push(reply["data"]["video_id"].as_str().expect("id").to_string());
    }

    // 20 clients, each polling one of the 4 videos 10 times a second: 200 polls a second.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..20 {
        let url = format!("{}/v1/video_status.get?video_id={}", server.base, rendering[client % 4]);
        let (key, done) = (server.key.clone(), done.clone());
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut ticks = tokio::time::interval(Duration::from_millis(100));
            let (mut latencies, mut errors) = (Vec::new(), Vec::new());
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                ticks.tick().await;
                let started = Instant::now();
                match http.get(&url).header("X-Api-Key", &key).send().await {
                    Ok(response) if response.status() == 200 => {
                        let _ = response.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    Ok(response) => errors.push(format!("HTTP {}", response.status())),
                    Err(error) => errors.push(error.to_string()),
                }
            }
            (latencies, errors)
        }));
    }
    for video_id in &rendering {
        wait_for_video(&server, video_id).await;
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    for client in clients {
        let (l, e) = client.await.expect("client");
        latencies.extend(l);
        errors.extend(e);
    }
    assert!(errors.is_empty(), "{} failed polls, e.g. {:?}", errors.len(), &errors[..errors.len().min(3)]);
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    eprintln!(
        "load: {} status polls while 4 videos rendered, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
    assert!(latencies.len() > 200, "{} polls", latencies.len());

    // A hundred videos queued at once all complete.
    let mut queued = Vec::new();
    for _ in 0..100 {
        let (status, reply) = generate(&server, order(json!({"type": "silence", "duration": 1}), 128)).await;
        assert_eq!(status, 200, "{reply}");
        queued.push(reply["data"]["video_id"].as_str().expect("id").to_string());
    }
    for video_id in &queued {
        wait_for_video(&server, video_id).await;
    }
    let (_, listed) = call(&server, reqwest::Method::GET, "/v1/video.list?limit=100", None).await;
    let completed = listed["data"]["videos"].as_array().expect("videos").iter().filter(|v| v["status"] == "completed");
    assert_eq!(completed.count(), 100, "the newest hundred are all completed");
}

#[tokio::test]
async fn the_web_app_makes_an_avatar_and_a_video_in_a_real_browser() {
    let server = start_server().await;
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(web.join("node_modules/playwright-core").exists(), "run scripts/test-env.sh (./test.sh does)");
    let dir = tempfile::tempdir().expect("temp");
    let no_face = dir.path().join("grey.png");
    std::fs::write(&no_face, png_of(&image::RgbImage::from_pixel(300, 300, image::Rgb([120, 120, 120])))).expect("png");
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/portraits/astronaut.png");
    // Screenshots are kept as test artefacts under target/.
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/web-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let spent = server.keys(&["create", "--quota-seconds", "0"]).lines().last().expect("key").trim().to_string();
    let output = tokio::process::Command::new("node")
        .arg(web.join("flow.mjs"))
        .args([&server.base, &server.key])
        .args([&photo, &no_face, &shots])
        .arg(&spent)
        .current_dir(&web)
        .output()
        .await
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("all work"), "{stdout}");
    for shot in
        ["make-empty", "avatar-no-face", "avatars", "make-video", "library", "sign-in-error", "quota-used", "phone"]
    {
        assert!(shots.join(format!("{shot}.png")).exists(), "screenshot {shot}");
    }
}

#[test]
fn keys_and_migrations_make_the_data_directory_they_are_given() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let fresh = scratch.path().join("not/yet/there");
    let output = Command::new(BIN).args(["keys", "create", "--data-dir"]).arg(&fresh).output().expect("keys");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).lines().last().is_some_and(|k| k.starts_with("mp_")));
    assert!(fresh.join("mouthpiece.db").exists());
    let url = format!("sqlite://{}?mode=rwc", scratch.path().join("other/place.db").display());
    let output = Command::new(BIN).args(["migrate", "--database-url", &url]).output().expect("migrate");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("5 job backoff"));
}

#[test]
fn the_cli_reports_an_error_as_one_plain_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BIN)
        .args(["render", "--photo"])
        .arg(dir.path().join("missing.png"))
        .args(["--text", "Hello.", "-o"])
        .arg(dir.path().join("out.mp4"))
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run mouthpiece");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains("missing.png"), "{stderr}");
}

/// The number of viewers `GET /v1/sessions` shows for `session_id`.
async fn viewers_listed(server: &Server, session_id: &str) -> i64 {
    let (status, reply) = call(server, reqwest::Method::GET, "/v1/sessions", None).await;
    assert_eq!(status, 200, "{reply}");
    let sessions = reply["data"]["sessions"].as_array().expect("sessions");
    let session = sessions.iter().find(|s| s["session_id"] == session_id).expect("the session is listed");
    session["viewers"].as_i64().expect("viewers")
}

/// Polls until `session_id` shows `viewers` viewers; false if it does not within `within`.
async fn wait_for_viewers(server: &Server, session_id: &str, viewers: i64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while viewers_listed(server, session_id).await != viewers {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    true
}

#[tokio::test]
async fn live_session_requests_are_checked_and_a_vanished_viewer_is_freed() {
    live::init();
    let server = start_server_with(&["--live-host", "127.0.0.1"]).await;
    let contract = Contract::fetch(&server).await;
    let post = reqwest::Method::POST;
    let avatar = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let asked = |body: Value| {
        let request = app_request(&server, reqwest::Method::POST, "/v1/sessions/token").json(&body);
        async move { json_of(request.send().await.expect("token")).await }
    };

    // Refused in the v2 shape, with what to change: no key, another key's
    // avatar, a mode, quality or voice that does not exist.
    let (status, reply) = call_as(&server, "mp_wrong", post.clone(), "/v1/sessions/token").await;
    assert_eq!(status, 401, "{reply}");
    let other_key = server.another_key();
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sessions/token", server.base))
        .header("X-Api-Key", &other_key)
        .json(&json!({"avatar_id": avatar}))
        .send()
        .await
        .expect("token");
    let (status, reply) = json_of(response).await;
    assert_eq!(status, 404, "another key's avatar is not found: {reply}");
    contract.check("post", "/v1/sessions/token", status, &reply);
    for (body, names) in [
        (json!({}), "avatar_id"),
        (json!({"avatar_id": avatar, "mode": "HALF"}), "FULL"),
        (json!({"avatar_id": avatar, "video_quality": "ultra"}), "medium"),
        (json!({"avatar_id": avatar, "voice_id": "nobody"}), "/v2/voices"),
    ] {
        let (status, reply) = asked(body.clone()).await;
        assert_eq!(status, 400, "{body}: {reply}");
        contract.check("post", "/v1/sessions/token", status, &reply);
        assert!(reply["error"]["message"].as_str().unwrap_or("").contains(names), "{body}: {reply}");
    }

    // Asked, started, listed; each reply as the document says.
    let (status, reply) = asked(json!({"avatar_id": avatar, "video_quality": "low"})).await;
    contract.check("post", "/v1/sessions/token", status, &reply);
    let id = reply["data"]["session_id"].as_str().expect("session_id").to_string();
    let token = reply["data"]["session_token"].as_str().expect("session_token").to_string();
    let (status, reply) = session_call(&server.base, "wrong", "/v1/sessions/start", json!({"session_id": id})).await;
    assert_eq!(status, 401, "{reply}");
    contract.check("post", "/v1/sessions/start", status, &reply);
    let (status, reply) = session_call(&server.base, &token, "/v1/sessions/start", json!({})).await;
    assert_eq!(status, 400, "{reply}");
    let (status, started) = session_call(&server.base, &token, "/v1/sessions/start", json!({"session_id": id})).await;
    assert_eq!(status, 200, "{started}");
    contract.check("post", "/v1/sessions/start", status, &started);
    let whep_url = started["data"]["whep_url"].as_str().expect("whep_url").to_string();
    assert_eq!(whep_url, format!("{}/v1/sessions/{id}/whep", server.base));
    let (status, listed) = call(&server, reqwest::Method::GET, "/v1/sessions", None).await;
    contract.check("get", "/v1/sessions", status, &listed);
    let offer = |content_type: &'static str, body: String| {
        let request = reqwest::Client::new().post(&whep_url).bearer_auth(&token).header("Content-Type", content_type);
        async move {
            let response = request.body(body).send().await.expect("whep");
            (response.status().as_u16(), response.text().await.expect("answer"))
        }
    };

    // A page of the app's own origin may send the offer: the browser's
    // preflight is answered, and the answer's Location is readable.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, &whep_url)
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 200);
    let allowed = |name: &str| preflight.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_lowercase();
    assert_eq!(allowed("access-control-allow-origin"), "*");
    assert!(allowed("access-control-allow-headers").contains("authorization"), "{:?}", preflight.headers());
    assert!(allowed("access-control-allow-methods").contains("post"), "{:?}", preflight.headers());

    // WHEP: an offer in JSON's clothes, and one that is not SDP.
    let (status, reply) = offer("application/json", "{}".into()).await;
    assert_eq!(status, 415, "{reply}");
    let (status, reply) = offer("application/sdp", "v=0\r\nnot an offer\r\n".into()).await;
    assert_eq!(status, 400, "{reply}");
    assert!(reply.contains("malformed SDP"), "{reply}");

    // A viewer that vanishes without DELETE (a closed laptop) is counted
    // while it watches and freed once its connection goes quiet.
    let (viewer, sdp) = live::Viewer::offer(std::net::Ipv4Addr::LOCALHOST.into()).expect("offer");
    let response = reqwest::Client::new()
        .post(&whep_url)
        .bearer_auth(&token)
        .header("Content-Type", "application/sdp")
        .header("Origin", "https://app.example")
        .body(sdp)
        .send()
        .await
        .expect("whep");
    assert_eq!(response.status().as_u16(), 201);
    let exposed = response.headers().get("access-control-expose-headers").and_then(|v| v.to_str().ok());
    assert!(exposed.is_some_and(|v| v.to_lowercase().contains("location")), "{:?}", response.headers());
    assert!(response.headers().contains_key("location"));
    let answer = response.text().await.expect("answer");
    let watching =
        tokio::spawn(async move { viewer.watch(&answer, Duration::from_secs(1), Duration::from_secs(3)).await });
    assert!(wait_for_viewers(&server, &id, 1, Duration::from_secs(20)).await, "the viewer is counted");
    let watched = watching.await.expect("viewer task").expect("watched");
    assert!(watched.fps() > 20.0, "{watched:?}");
    assert!(wait_for_viewers(&server, &id, 0, Duration::from_secs(60)).await, "the vanished viewer is freed");
    let leave = reqwest::Client::new().delete(format!("{whep_url}/nobody")).bearer_auth(&token).send().await;
    assert_eq!(leave.expect("delete").status().as_u16(), 404);

    // Kept alive and stopped; then its token has expired and the list is empty.
    let (status, reply) =
        session_call(&server.base, &token, "/v1/sessions/keep-alive", json!({"session_id": id})).await;
    assert_eq!(status, 200, "{reply}");
    contract.check("post", "/v1/sessions/keep-alive", status, &reply);
    let (status, reply) =
        session_call(&server.base, &token, "/v1/sessions/stop", json!({"session_id": id, "reason": "done"})).await;
    assert_eq!(status, 200, "{reply}");
    contract.check("post", "/v1/sessions/stop", status, &reply);
    let (status, reply) =
        session_call(&server.base, &token, "/v1/sessions/keep-alive", json!({"session_id": id})).await;
    assert_eq!(status, 401, "{reply}");
    let (_, listed) = call(&server, reqwest::Method::GET, "/v1/sessions", None).await;
    assert_eq!(listed["data"]["sessions"], json!([]), "{listed}");
}
