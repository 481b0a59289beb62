//! HeyGen's v3 API against a real `mouthpiece serve` (embedded, or on
//! Postgres and S3 with `MOUTHPIECE_TEST_DISTRIBUTED` set): every v3 call's
//! successes and refusals, each reply checked against the server's OpenAPI
//! document, and videos made through v3 downloaded and probed.

mod support;

use serde_json::{Value, json};
use support::server::*;

#[tokio::test]
async fn v3_voices_page_filter_and_refuse_in_the_v3_shape() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let (_, v2) = call(&server, reqwest::Method::GET, "/v2/voices", None).await;
    let catalogue: Vec<String> =
        v2["data"]["voices"].as_array().expect("voices").iter().map(|v| v["voice_id"].to_string()).collect();

    // Paging two at a time walks the whole catalogue once, in order.
    let seen: Vec<String> =
        v3_list_all(&server, &contract, "/v3/voices").await.iter().map(|v| v["voice_id"].to_string()).collect();
    assert_eq!(seen, catalogue, "v3 pages list the same voices as v2");

    let (status, english) = call_v3(&server, "/v3/voices?language=English&gender=female&limit=100").await;
    contract.check("get", "/v3/voices", status, &english);
    let english = english["data"].as_array().expect("data").clone();
    assert!(!english.is_empty());
    assert!(english.iter().all(|v| v["language"] == "English" && v["gender"] == "female"), "{english:?}");
    let (_, by_code) = call_v3(&server, "/v3/voices?language=en&gender=female&limit=100").await;
    assert_eq!(by_code["data"].as_array().map(Vec::len), Some(english.len()), "a language by its code too");
    let (_, private) = call_v3(&server, "/v3/voices?type=private").await;
    assert_eq!(private["data"], json!([]), "no cloned voices on this server");

    let voice_id = english[0]["voice_id"].as_str().expect("voice_id");
    let (status, voice) = call_v3(&server, &format!("/v3/voices/{voice_id}")).await;
    contract.check("get", "/v3/voices/{voice_id}", status, &voice);
    assert_eq!(voice["data"], english[0]);
    let sample = reqwest::get(voice["data"]["preview_audio_url"].as_str().expect("preview")).await.expect("preview");
    assert_eq!(sample.status().as_u16(), 200);
    assert!(sample.bytes().await.expect("bytes").starts_with(b"RIFF"), "a WAV preview");

    // Every refusal in the v3 shape, naming the parameter at fault.
    for (path, param) in [
        ("/v3/voices?limit=0", "limit"),
        ("/v3/voices?limit=many", "limit"),
        ("/v3/voices?limit=101", "limit"),
        ("/v3/voices?gender=robot", "gender"),
        ("/v3/voices?type=shared", "type"),
        ("/v3/voices?token=not-ours", "token"),
    ] {
        let reply = call_v3(&server, path).await;
        contract.check("get", "/v3/voices", reply.0, &reply.1);
        assert_v3_error(&reply, 400, "invalid_parameter", Some(param));
    }
    let reply = call_v3(&server, "/v3/voices/nobody").await;
    contract.check("get", "/v3/voices/{voice_id}", reply.0, &reply.1);
    assert_v3_error(&reply, 404, "not_found", None);
    assert_v3_error(&call_v3(&server, "/v3/no-such-thing").await, 404, "not_found", None);
    // A wrong method gets a JSON error in each version's own shape.
    let (status, reply) = call(&server, reqwest::Method::POST, "/v3/voices", None).await;
    assert_v3_error(&(status, reply), 405, "method_not_allowed", None);
    let (status, reply) = call(&server, reqwest::Method::DELETE, "/v2/voices", None).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (405, Some("method_not_allowed")), "{reply}");
    assert!(reply["data"].is_null() && reply["error"]["message"].is_string(), "{reply}");
    let (status, reply) = call(&server, reqwest::Method::POST, "/v1/video_status.get", None).await;
    assert_eq!((status, reply["code"].as_i64()), (405, Some(400_105)), "{reply}");
    assert!(reply["data"].is_null() && reply["message"].is_string(), "{reply}");
    let anonymous = reqwest::get(format!("{}/v3/voices", server.base)).await.expect("request");
    let reply = json_of(anonymous).await;
    contract.check("get", "/v3/voices", reply.0, &reply.1);
    assert_v3_error(&reply, 401, "unauthorized", None);
}

#[tokio::test]
async fn v3_sees_the_videos_v2_made_and_deletes_them() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let group_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let mut ids = Vec::new();
    for title in ["Launch 50% day", "launch_recap", "Orbit notes"] {
        let scene = json!({
            "character": {"type": "talking_photo", "talking_photo_id": group_id},
            "voice": {"type": "text", "input_text": "Hello.", "voice_id": "en-us-female"},
        });
        let (status, reply) = generate(
            &server,
            json!({"video_inputs": [scene], "title": title, "dimension": {"width": 256, "height": 256}}),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        ids.push(reply["data"]["video_id"].as_str().expect("video_id").to_string());
    }
    let mut v2 = Vec::new();
    for id in &ids {
        v2.push(wait_for_video(&server, id).await);
    }

    // One video, as v1 reports it and as v3 does.
    let (status, video) = call_v3(&server, &format!("/v3/videos/{}", ids[0])).await;
    contract.check("get", "/v3/videos/{video_id}", status, &video);
    let video = &video["data"];
    assert_eq!((video["id"].as_str(), video["status"].as_str()), (Some(ids[0].as_str()), Some("completed")));
    assert_eq!(video["title"], "Launch 50% day");
    assert_eq!(video["video_url"], v2[0]["video_url"]);
    assert_eq!(video["thumbnail_url"], v2[0]["thumbnail_url"]);
    assert_eq!(video["duration"], v2[0]["duration"]);
    let (created, completed) = (video["created_at"].as_i64().expect("created"), video["completed_at"].as_i64());
    assert!(completed.is_some_and(|c| c >= created), "{video}");
    assert!(video["failure_code"].is_null() && video["failure_message"].is_null(), "{video}");

    // Newest first, a page at a time; the title filter matches any case
    // and takes % and _ literally.
    let listed: Vec<(i64, String)> = v3_list_all(&server, &contract, "/v3/videos")
        .await
        .iter()
        .map(|v| (v["created_at"].as_i64().unwrap_or(0), v["id"].as_str().unwrap_or("").to_string()))
        .collect();
    // Videos made within the same second come in the order of their ids.
    assert!(listed.windows(2).all(|w| w[0].0 >= w[1].0), "newest first: {listed:?}");
    let mut seen: Vec<String> = listed.into_iter().map(|(_, id)| id).collect();
    seen.sort();
    let mut made = ids.clone();
    made.sort();
    assert_eq!(seen, made, "every video once");
    let titles = |page: &Value| -> Vec<String> {
        let mut titles: Vec<String> = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|v| v["title"].as_str().unwrap_or("").to_string())
            .collect();
        titles.sort();
        titles
    };
    let (_, launches) = call_v3(&server, "/v3/videos?title=LAUNCH").await;
    assert_eq!(titles(&launches), ["Launch 50% day", "launch_recap"]);
    let (_, percent) = call_v3(&server, "/v3/videos?title=50%25").await;
    assert_eq!(titles(&percent), ["Launch 50% day"]);
    let (_, underscore) = call_v3(&server, "/v3/videos?title=h_r").await;
    assert_eq!(titles(&underscore), ["launch_recap"]);

    // Deleted through v3, gone through v1 too; refusals in the v3 shape.
    let deleted = reqwest::Client::new()
        .delete(format!("{}/v3/videos/{}", server.base, ids[1]))
        .bearer_auth(&server.key)
        .send()
        .await
        .expect("delete");
    let (status, reply) = json_of(deleted).await;
    contract.check("delete", "/v3/videos/{video_id}", status, &reply);
    assert_eq!(reply["data"], json!({"id": ids[1], "deleted": true}));
    let (status, _) =
        call(&server, reqwest::Method::GET, &format!("/v1/video_status.get?video_id={}", ids[1]), None).await;
    assert_eq!(status, 404);
    let reply = call_v3(&server, &format!("/v3/videos/{}", ids[1])).await;
    contract.check("get", "/v3/videos/{video_id}", reply.0, &reply.1);
    assert_v3_error(&reply, 404, "not_found", None);
    assert_v3_error(&call_v3(&server, "/v3/videos?token=yesterday").await, 400, "invalid_parameter", Some("token"));
    assert_v3_error(&call_v3(&server, "/v3/videos?limit=500").await, 400, "invalid_parameter", Some("limit"));
    let other = server.another_key();
    let request = reqwest::Client::new().get(format!("{}/v3/videos/{}", server.base, ids[0])).bearer_auth(&other);
    assert_v3_error(&json_of(request.send().await.expect("get")).await, 404, "not_found", None);
}

/// A v3 call with a JSON body (or none), the key sent as a bearer token.
async fn v3(server: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", server.base)).bearer_auth(&server.key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    json_of(request.send().await.expect(path)).await
}

async fn v3_post(server: &Server, contract: &Contract, path: &str, body: Value) -> (u16, Value) {
    let reply = v3(server, reqwest::Method::POST, path, Some(body)).await;
    contract.check("post", path, reply.0, &reply.1);
    reply
}

/// `POST /v3/assets` with `bytes` as the multipart field `file`.
async fn upload_v3(server: &Server, name: &str, content_type: &str, bytes: &[u8]) -> (u16, Value) {
    let boundary = "mouthpiece-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let response = reqwest::Client::new()
        .post(format!("{}/v3/assets", server.base))
        .header("X-Api-Key", &server.key)
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("upload");
    json_of(response).await
}

/// Polls `GET path` (a v3 object) until `field` is `done`; fails on `failed`.
async fn wait_v3(server: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
    loop {
        let (status, reply) = v3(server, reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {reply}");
        assert_ne!(reply["data"]["status"], "failed", "{path}: {reply}");
        if done(&reply["data"]) {
            return reply["data"].clone();
        }
        assert!(std::time::Instant::now() < deadline, "{path} not done in time: {reply}");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

async fn wait_v3_video(server: &Server, video_id: &str) -> Value {
    wait_v3(server, &format!("/v3/videos/{video_id}"), |v| v["status"] == "completed").await
}

/// Downloads a finished video and returns its video stream's size and
/// whether it has sound.
async fn probe_download(url: &str) -> (u32, u32, bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("video.mp4");
    download(url, &path).await;
    let info = media::probe(&path).expect("a readable video");
    let video = info.streams_of("video");
    let stream = video.first().expect("a video stream");
    (stream.width.unwrap_or(0), stream.height.unwrap_or(0), !info.streams_of("audio").is_empty())
}

#[tokio::test]
async fn v3_photo_to_avatar_to_video_and_one_call_from_a_photo() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;

    // A multipart upload, then the same object in the asset list and by id.
    let (status, asset) = upload_v3(&server, "astronaut.png", "image/png", ASTRONAUT).await;
    contract.check("post", "/v3/assets", status, &asset);
    assert_eq!(status, 200, "{asset}");
    let asset = &asset["data"];
    assert_eq!(
        (asset["mime_type"].as_str(), asset["size_bytes"].as_u64()),
        (Some("image/png"), Some(ASTRONAUT.len() as u64))
    );
    let asset_id = asset["asset_id"].as_str().expect("asset_id").to_string();
    let (status, listed) = call_v3(&server, "/v3/assets").await;
    contract.check("get", "/v3/assets", status, &listed);
    assert!(listed["data"].as_array().expect("data").iter().any(|a| a["id"] == asset_id.as_str()), "{listed}");
    let (status, one) = call_v3(&server, &format!("/v3/assets/{asset_id}")).await;
    contract.check("get", "/v3/assets/{asset_id}", status, &one);
    assert_eq!((one["data"]["name"].as_str(), one["data"]["type"].as_str()), (Some("astronaut.png"), Some("image")));

    // A photo avatar from the upload: training starts at once, and the look
    // gets an idle clip once it is trained.
    let (status, made) = v3_post(
        &server,
        &contract,
        "/v3/avatars",
        json!({"type": "photo", "name": "Eileen", "file": {"type": "asset_id", "asset_id": asset_id}}),
    )
    .await;
    assert_eq!(status, 200, "{made}");
    let look_id = made["data"]["avatar_item"]["id"].as_str().expect("look id").to_string();
    assert_eq!(made["data"]["avatar_group"]["id"], look_id.as_str(), "a photo avatar's one look has its id");
    let look = wait_v3(&server, &format!("/v3/avatars/looks/{look_id}"), |l| {
        l["status"] == "completed" && l["preview_video_url"].is_string()
    })
    .await;
    let (status, reply) = call_v3(&server, &format!("/v3/avatars/looks/{look_id}")).await;
    contract.check("get", "/v3/avatars/looks/{look_id}", status, &reply);
    assert_eq!((look["image_width"].as_u64(), look["image_height"].as_u64()), (Some(512), Some(512)), "{look}");
    assert_eq!(look["preferred_orientation"], "square");
    let (width, height, _) = probe_download(look["preview_video_url"].as_str().expect("clip")).await;
    assert_eq!((width, height), (512, 512), "the idle clip keeps the photo's shape");
    // v2 sees the same avatar, with the clip as its look's preview.
    let (_, v2_looks) = call(&server, reqwest::Method::GET, &format!("/v2/avatar_group/{look_id}/avatars"), None).await;
    assert_eq!(v2_looks["data"]["avatar_list"][0]["preview_video_url"], look["preview_video_url"]);
    for path in ["/v3/avatars", "/v3/avatars/looks"] {
        let all = v3_list_all(&server, &contract, path).await;
        assert_eq!(all.len(), 1, "{path}: {all:?}");
    }
    let (status, group) = call_v3(&server, &format!("/v3/avatars/{look_id}")).await;
    contract.check("get", "/v3/avatars/{group_id}", status, &group);
    let (status, renamed) = v3(
        &server,
        reqwest::Method::PATCH,
        &format!("/v3/avatars/looks/{look_id}"),
        Some(json!({"name": "Commander"})),
    )
    .await;
    contract.check("patch", "/v3/avatars/looks/{look_id}", status, &renamed);
    assert_eq!(renamed["data"]["name"], "Commander");
    let (_, v2_groups) = call(&server, reqwest::Method::GET, "/v2/avatar_group.list", None).await;
    assert_eq!(v2_groups["data"]["avatar_group_list"][0]["name"], "Commander", "{v2_groups}");

    // Videos of the look: 16:9 at 720p and 9:16 at 1080p.
    let mut ordered = Vec::new();
    for (aspect, resolution, size) in [("16:9", "720p", (1280, 720)), ("9:16", "1080p", (1080, 1920))] {
        let (status, reply) = v3_post(
            &server,
            &contract,
            "/v3/videos",
            json!({"type": "avatar", "avatar_id": look_id, "script": "Hello from version three.",
                   "voice_id": "en-us-female", "aspect_ratio": aspect, "resolution": resolution,
                   "title": format!("v3 {aspect}"), "unknown_field": {"is": "ignored"}}),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            (reply["data"]["status"].as_str(), reply["data"]["output_format"].as_str()),
            (Some("pending"), Some("mp4"))
        );
        ordered.push((reply["data"]["video_id"].as_str().expect("video_id").to_string(), size));
    }
    // One call from a photo to a video: a base64 image, analysed on the fly.
    use base64::Engine;
    let photo = base64::engine::general_purpose::STANDARD.encode(ASTRONAUT);
    let (status, reply) = v3_post(
        &server,
        &contract,
        "/v3/videos",
        json!({"type": "image", "image": {"type": "base64", "media_type": "image/png", "data": photo},
               "script": "A photo, no avatar.", "voice_id": "en-us-male", "aspect_ratio": "1:1",
               "expressiveness": "high", "motion_prompt": "smile and nod"}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    ordered.push((reply["data"]["video_id"].as_str().expect("video_id").to_string(), (720, 720)));
    for (video_id, (width, height)) in &ordered {
        let video = wait_v3_video(&server, video_id).await;
        let (status, reply) = call_v3(&server, &format!("/v3/videos/{video_id}")).await;
        contract.check("get", "/v3/videos/{video_id}", status, &reply);
        let probed = probe_download(video["video_url"].as_str().expect("video_url")).await;
        assert_eq!(probed, (*width, *height, true), "{video}");
        assert!(video["duration"].as_f64().is_some_and(|d| d > 0.5), "{video}");
        // The same video through v1.
        let (_, v1) =
            call(&server, reqwest::Method::GET, &format!("/v1/video_status.get?video_id={video_id}"), None).await;
        assert_eq!(v1["data"]["video_url"], video["video_url"]);
    }
    // The photo given with the order made no avatar the key can see.
    assert_eq!(v3_list_all(&server, &contract, "/v3/avatars").await.len(), 1);
    let (_, v2_avatars) = call(&server, reqwest::Method::GET, "/v2/avatars", None).await;
    assert_eq!(v2_avatars["data"]["avatars"].as_array().map(Vec::len), Some(1), "{v2_avatars}");

    // An upload an avatar speaks through cannot be deleted before the avatar.
    let reply = v3(&server, reqwest::Method::DELETE, &format!("/v3/assets/{asset_id}"), None).await;
    contract.check("delete", "/v3/assets/{asset_id}", reply.0, &reply.1);
    assert_v3_error(&reply, 409, "conflict", None);
    let reply = v3(&server, reqwest::Method::DELETE, &format!("/v3/avatars/{look_id}"), None).await;
    contract.check("delete", "/v3/avatars/{group_id}", reply.0, &reply.1);
    assert_eq!(reply.1["data"], json!({"id": look_id, "deleted": true}));
    let reply = v3(&server, reqwest::Method::DELETE, &format!("/v3/assets/{asset_id}"), None).await;
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_v3_error(&call_v3(&server, &format!("/v3/assets/{asset_id}")).await, 404, "not_found", None);
    assert_v3_error(&call_v3(&server, &format!("/v3/avatars/looks/{look_id}")).await, 404, "not_found", None);
}

#[tokio::test]
async fn v3_speech_has_word_timestamps_that_match_its_audio() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let text = "Morning <break time=\"1s\"/> evening";
    let (status, reply) =
        v3_post(&server, &contract, "/v3/voices/speech", json!({"text": text, "voice_id": "en-us-female"})).await;
    assert_eq!(status, 200, "{reply}");
    let spoken = &reply["data"];
    let words = spoken["word_timestamps"].as_array().expect("word_timestamps").clone();
    let names: Vec<&str> = words.iter().filter_map(|w| w["word"].as_str()).collect();
    assert_eq!(names, ["Morning", "evening"], "{spoken}");

    // The audio is a WAV as long as the reply says, loud inside each word
    // and quiet in the pause between them.
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("speech.wav");
    download(spoken["audio_url"].as_str().expect("audio_url"), &wav).await;
    let rate = 16_000;
    let samples = media::decode_audio(&wav, rate).expect("decode");
    let seconds = samples.len() as f64 / f64::from(rate);
    let duration = spoken["duration"].as_f64().expect("duration");
    assert!((seconds - duration).abs() < 0.05, "{seconds} s of audio, {duration} s said");
    let loudness = |from: f64, to: f64| {
        let part = &samples[(from * f64::from(rate)) as usize..((to * f64::from(rate)) as usize).min(samples.len())];
        (part.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / part.len().max(1) as f64).sqrt()
    };
    let span = |w: &Value| (w["start"].as_f64().expect("start"), w["end"].as_f64().expect("end"));
    let (first, second) = (span(&words[0]), span(&words[1]));
    assert!(first.0 < first.1 && first.1 + 0.8 < second.0 && second.1 <= duration + 0.01, "{words:?}");
    let pause = loudness(first.1 + 0.15, second.0 - 0.15);
    for (start, end) in [first, second] {
        let word = loudness(start, end);
        eprintln!("word {start:.2}–{end:.2} s: RMS {word:.0}; pause RMS {pause:.0}");
        assert!(word > 20.0 * pause.max(1.0), "a word is loud where its timestamps say: {word} against {pause}");
    }
    // It is kept as an audio upload, which a video may speak.
    let asset_id = spoken["asset_id"].as_str().expect("asset_id");
    let (_, asset) = call_v3(&server, &format!("/v3/assets/{asset_id}")).await;
    assert_eq!(asset["data"]["type"], "audio", "{asset}");

    for (body, param) in [
        (json!({"text": "", "voice_id": "en-us-female"}), "text"),
        (json!({"text": "Hi", "voice_id": "en-us-female", "speed": 3}), "speed"),
        (json!({"text": "Hi", "voice_id": "en-us-female", "speed": "fast"}), "speed"),
        (json!({"text": "Hi", "voice_id": "en-us-female", "input_type": "ssml"}), "input_type"),
        (json!({"voice_id": "en-us-female"}), "text"),
    ] {
        let reply = v3_post(&server, &contract, "/v3/voices/speech", body).await;
        assert_v3_error(&reply, 400, "invalid_parameter", Some(param));
    }
    let reply = v3_post(&server, &contract, "/v3/voices/speech", json!({"text": "Hi", "voice_id": "nobody"})).await;
    assert_v3_error(&reply, 404, "not_found", None);
    let clone = json!({"voice_name": "me", "audio": {"type": "asset_id", "asset_id": asset_id}});
    let reply = v3_post(&server, &contract, "/v3/voices/clone", clone).await;
    assert_v3_error(&reply, 400, "unsupported_feature", None);
    assert!(reply.1["error"]["message"].as_str().is_some_and(|m| m.contains("not available")), "{}", reply.1);
}

#[tokio::test]
async fn v3_refuses_what_it_cannot_do_naming_the_field_and_keeps_tenants_apart() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let look_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let video = |extra: Value| {
        let mut body = json!({"type": "avatar", "avatar_id": look_id, "script": "Hi.", "voice_id": "en-us-female"});
        for (key, value) in extra.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        body
    };
    for (body, status, code, param) in [
        (json!({"avatar_id": look_id, "script": "Hi."}), 400, "invalid_parameter", Some("type")),
        (video(json!({"type": "hologram"})), 400, "invalid_parameter", Some("type")),
        (video(json!({"voice_settings": {"speed": "fast"}})), 400, "invalid_parameter", Some("voice_settings.speed")),
        (video(json!({"voice_settings": {"speed": 2.5}})), 400, "invalid_parameter", Some("voice_settings.speed")),
        (
            video(json!({"voice_settings": {"locale": "xx-XX"}})),
            400,
            "invalid_parameter",
            Some("voice_settings.locale"),
        ),
        (video(json!({"voice_id": "nobody"})), 400, "invalid_parameter", Some("voice_id")),
        (video(json!({"script": ""})), 400, "invalid_parameter", Some("script")),
        (video(json!({"audio_url": "http://127.0.0.1/a.wav"})), 400, "invalid_parameter", Some("script")),
        (video(json!({"aspect_ratio": "2:1"})), 400, "invalid_parameter", Some("aspect_ratio")),
        (video(json!({"resolution": "8k"})), 400, "invalid_parameter", Some("resolution")),
        (video(json!({"fit": "stretch"})), 400, "invalid_parameter", Some("fit")),
        (video(json!({"expressiveness": "wild"})), 400, "invalid_parameter", Some("expressiveness")),
        (
            video(json!({"background": {"type": "color", "value": "blue"}})),
            400,
            "invalid_parameter",
            Some("background.value"),
        ),
        (video(json!({"output_format": "mov"})), 400, "invalid_parameter", Some("output_format")),
        (video(json!({"callback_url": "http://10.0.0.1/hook"})), 400, "invalid_parameter", Some("callback_url")),
        (video(json!({"avatar_id": "nobody"})), 404, "not_found", None),
        (json!({"type": "image", "script": "Hi."}), 400, "invalid_parameter", Some("image")),
        (
            json!({"type": "image", "script": "Hi.", "image": {"type": "base64", "data": "not base64!"}}),
            400,
            "invalid_parameter",
            Some("image.data"),
        ),
        (
            json!({"type": "image", "script": "Hi.", "image": {"type": "ftp", "url": "x"}}),
            400,
            "invalid_parameter",
            Some("image.type"),
        ),
        (
            json!({"type": "cinematic_avatar", "avatar_id": [look_id], "prompt": "a walk"}),
            400,
            "invalid_parameter",
            Some("type"),
        ),
        (
            json!({"type": "studio", "scenes": [{"type": "avatar", "input": {"type": "avatar", "avatar_id": look_id,
            "script": "Hi.", "voice_settings": {"pitch": 99}}}]}),
            400,
            "invalid_parameter",
            Some("scenes[0].input.voice_settings.pitch"),
        ),
        (
            json!({"type": "studio", "scenes": [{"type": "video", "source": {"type": "url", "url": "http://x"}}]}),
            400,
            "invalid_parameter",
            Some("scenes[0].type"),
        ),
    ] {
        let reply = v3_post(&server, &contract, "/v3/videos", body.clone()).await;
        eprintln!("{body} → {}", reply.1);
        assert_v3_error(&reply, status, code, param);
    }
    // Nothing refused was queued.
    let (_, videos) = call_v3(&server, "/v3/videos").await;
    assert_eq!(videos["data"], json!([]), "{videos}");
    let reply = v3(&server, reqwest::Method::POST, "/v3/videos", None).await;
    assert_eq!(reply.0, 415, "{}", reply.1);
    let reply =
        v3_post(&server, &contract, "/v3/avatars", json!({"type": "prompt", "name": "x", "prompt": "a cat"})).await;
    assert_v3_error(&reply, 400, "unsupported_feature", None);
    let reply = v3_post(&server, &contract, "/v3/avatars", json!({"type": "photo", "name": "x"})).await;
    assert_v3_error(&reply, 400, "invalid_parameter", Some("file"));
    let (status, reply) = upload_v3(&server, "notes.txt", "text/plain", b"hello").await;
    assert_eq!(status, 415, "{reply}");
    let (status, reply) = upload_v3(&server, "fake.png", "image/png", b"not a png").await;
    contract.check("post", "/v3/assets", status, &reply);
    assert_eq!(status, 400, "{reply}");

    // A studio video of two scenes, the second from a photo with an image background.
    let (status, asset) = upload_v3(&server, "astronaut.png", "image/png", ASTRONAUT).await;
    assert_eq!(status, 200, "{asset}");
    let asset_id = asset["data"]["asset_id"].as_str().expect("asset_id");
    let (status, studio) = v3_post(
        &server,
        &contract,
        "/v3/videos",
        json!({"type": "studio", "resolution": "720p",
        "aspect_ratio": "4:5", "scenes": [
            {"type": "avatar", "input": {"type": "avatar", "avatar_id": look_id, "script": "First.",
             "voice_id": "en-us-female", "background": {"type": "color", "color": "#204080"}}},
            {"type": "avatar", "input": {"type": "image", "image": {"type": "asset_id", "asset_id": asset_id},
             "script": "Second.", "voice_id": "en-us-male", "background": {"type": "image", "asset_id": asset_id}}}]}),
    )
    .await;
    assert_eq!(status, 200, "{studio}");
    let video = wait_v3_video(&server, studio["data"]["video_id"].as_str().expect("video_id")).await;
    assert_eq!(probe_download(video["video_url"].as_str().expect("url")).await, (720, 900, true));

    // users/me: the key's name, and its quota in seconds.
    let (status, me) = call_v3(&server, "/v3/users/me").await;
    contract.check("get", "/v3/users/me", status, &me);
    assert_eq!(me["data"]["billing_type"], "usage_based");
    let (status, me_v1) = call(&server, reqwest::Method::GET, "/v1/user/me", None).await;
    contract.check("get", "/v1/user/me", status, &me_v1);
    assert_eq!(me_v1["data"]["username"], me["data"]["username"]);

    // Another key sees none of it, on any v3 call.
    let other = server.another_key();
    let as_other = |method: reqwest::Method, path: String| {
        let request = reqwest::Client::new().request(method, format!("{}{path}", server.base)).bearer_auth(&other);
        async move { json_of(request.send().await.expect("request")).await }
    };
    let video_id = video["id"].as_str().expect("id");
    for (method, path) in [
        (reqwest::Method::GET, format!("/v3/videos/{video_id}")),
        (reqwest::Method::DELETE, format!("/v3/videos/{video_id}")),
        (reqwest::Method::GET, format!("/v3/avatars/{look_id}")),
        (reqwest::Method::DELETE, format!("/v3/avatars/{look_id}")),
        (reqwest::Method::GET, format!("/v3/avatars/looks/{look_id}")),
        (reqwest::Method::DELETE, format!("/v3/avatars/looks/{look_id}")),
        (reqwest::Method::GET, format!("/v3/assets/{asset_id}")),
        (reqwest::Method::DELETE, format!("/v3/assets/{asset_id}")),
    ] {
        assert_v3_error(&as_other(method, path).await, 404, "not_found", None);
    }
    for path in ["/v3/videos", "/v3/avatars", "/v3/avatars/looks", "/v3/assets"] {
        let (status, page) = as_other(reqwest::Method::GET, path.to_string()).await;
        assert_eq!((status, &page["data"]), (200, &json!([])), "{path}: {page}");
    }
    let (_, statuses) = as_other(reqwest::Method::GET, format!("/v3/videos/statuses?video_ids={video_id}")).await;
    assert_eq!(statuses["data"][0]["status"], "not_found", "{statuses}");
    let other_order = json!({"type": "avatar", "avatar_id": look_id, "script": "Hi."});
    let request =
        reqwest::Client::new().post(format!("{}/v3/videos", server.base)).bearer_auth(&other).json(&other_order);
    assert_v3_error(&json_of(request.send().await.expect("post")).await, 404, "not_found", None);
}

#[tokio::test]
async fn v3_batches_statuses_and_webhooks_signed_and_delivered() {
    let server = start_server_with(&["--allow-private-urls"]).await;
    let contract = Contract::fetch(&server).await;
    let (receiver, mut received) = webhook_receiver().await;
    let look_id = create_avatar(&server, ASTRONAUT.to_vec()).await;

    // An endpoint for every video event, shown its secret once.
    let (status, endpoint) = v3_post(
        &server,
        &contract,
        "/v3/webhooks/endpoints",
        json!({"url": format!("{receiver}/hook"), "events": ["avatar_video.success", "batch.finished"]}),
    )
    .await;
    assert_eq!(status, 200, "{endpoint}");
    let endpoint_id = endpoint["data"]["endpoint_id"].as_str().expect("endpoint_id").to_string();
    let first_secret = endpoint["data"]["secret"].as_str().expect("secret").to_string();
    let listed = v3_list_all(&server, &contract, "/v3/webhooks/endpoints").await;
    assert_eq!(listed.len(), 1);
    assert!(listed[0]["secret"].is_null(), "a secret is shown only when made: {listed:?}");
    let path = format!("/v3/webhooks/endpoints/{endpoint_id}/rotate-secret");
    let (status, rotated) = v3(&server, reqwest::Method::POST, &path, None).await;
    contract.check("post", "/v3/webhooks/endpoints/{endpoint_id}/rotate-secret", status, &rotated);
    assert_eq!(status, 200, "{rotated}");
    let secret = rotated["data"]["secret"].as_str().expect("secret").to_string();
    assert_ne!(secret, first_secret);
    let (status, types) = call_v3(&server, "/v3/webhooks/event-types").await;
    contract.check("get", "/v3/webhooks/event-types", status, &types);
    for (body, param) in [
        (json!({"url": "ftp://example.com/hook"}), "url"),
        (json!({"url": format!("{receiver}/x"), "events": ["avatar_video.exploded"]}), "events"),
        (json!({"events": []}), "url"),
    ] {
        let reply = v3_post(&server, &contract, "/v3/webhooks/endpoints", body).await;
        assert_v3_error(&reply, 400, "invalid_parameter", Some(param));
    }

    // A batch with one wrong item is refused whole, naming the item.
    let item = |text: &str| json!({"type": "avatar", "avatar_id": look_id, "script": text, "voice_id": "en-us-female"});
    let wrong = json!({"videos": [item("One."), {"type": "avatar", "avatar_id": look_id, "script": "Two.", "voice_id": "nobody"}]});
    let reply = v3_post(&server, &contract, "/v3/videos/batches", wrong).await;
    assert_v3_error(&reply, 400, "invalid_parameter", Some("videos[1].voice_id"));
    let (_, videos) = call_v3(&server, "/v3/videos").await;
    assert_eq!(videos["data"], json!([]), "nothing of a refused batch is queued");

    // A batch of three, with a callback told once when all have finished.
    let batch = json!({"title": "Three", "callback_url": format!("{receiver}/batch"),
                       "videos": [item("One."), item("Two."), item("Three.")]});
    let (status, created) = v3_post(&server, &contract, "/v3/videos/batches", batch).await;
    assert_eq!(status, 202, "{created}");
    let batch_id = created["data"]["batch_id"].as_str().expect("batch_id").to_string();
    let path = format!("/v3/videos/batches/{batch_id}");
    let finished = wait_v3(&server, &path, |b| b["status"] == "completed").await;
    let (status, reply) = call_v3(&server, &format!("{path}?limit=2")).await;
    contract.check("get", "/v3/videos/batches/{batch_id}", status, &reply);
    assert_eq!(
        (reply["data"]["items"].as_array().map(Vec::len), reply["data"]["has_more"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(finished["total_items"], 3);
    assert_eq!(finished["counts_by_status"], json!({"completed": 3}));
    let video_ids: Vec<String> = finished["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["video_id"].as_str().expect("id").to_string())
        .collect();
    let indexes: Vec<u64> =
        finished["items"].as_array().expect("items").iter().filter_map(|i| i["item_index"].as_u64()).collect();
    assert_eq!(indexes, [0, 1, 2]);

    let query = format!("/v3/videos/statuses?batch_ids={batch_id}&video_ids={},nobody", video_ids[0]);
    let (status, statuses) = call_v3(&server, &query).await;
    contract.check("get", "/v3/videos/statuses", status, &statuses);
    let statuses = statuses["data"].as_array().expect("data").clone();
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    assert!(statuses[..4].iter().all(|s| s["status"] == "completed"), "{statuses:?}");
    assert_eq!(statuses[4]["status"], "not_found");
    assert_v3_error(&call_v3(&server, "/v3/videos/statuses").await, 400, "invalid_parameter", Some("video_ids"));

    // Deliveries: a success per video and the batch's end to the endpoint
    // (signed with its rotated secret; its first answer is a 500, so one is
    // retried), and the batch's end once to its callback (signed with the
    // hash of the key).
    let mut hook = Vec::new();
    let mut batch_calls = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while hook.len() < 4 || batch_calls.is_empty() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let got = tokio::time::timeout(left, received.recv()).await.expect("deliveries in time").expect("receiver");
        if got.path == "/hook" { hook.push(got) } else { batch_calls.push(got) }
    }
    for delivery in &hook {
        assert_eq!(delivery.signature, hmac_hex(&secret, &delivery.body), "{}", delivery.body);
    }
    let bodies: Vec<Value> = hook.iter().map(|d| serde_json::from_str(&d.body).expect("json")).collect();
    let mut announced: Vec<String> = bodies
        .iter()
        .filter(|b| b["event_type"] == "avatar_video.success")
        .map(|b| b["event_data"]["video_id"].as_str().expect("video_id").to_string())
        .collect();
    announced.sort();
    let mut expected = video_ids.clone();
    expected.sort();
    assert_eq!(announced, expected);
    assert_eq!(bodies.iter().filter(|b| b["event_type"] == "batch.finished").count(), 1, "{bodies:?}");
    let key_hash: String = {
        use sha2::{Digest, Sha256};
        Sha256::digest(server.key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    };
    let batch_call: Value = serde_json::from_str(&batch_calls[0].body).expect("json");
    assert_eq!(batch_call["event_type"], "batch.finished");
    assert_eq!(batch_call["event_data"]["batch_id"], batch_id.as_str());
    assert_eq!(batch_calls[0].signature, hmac_hex(&key_hash, &batch_calls[0].body));
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(received.try_recv().is_err(), "the batch's end is told once");

    // What was announced, newest first, filtered by type.
    let events = v3_list_all(&server, &contract, "/v3/webhooks/events").await;
    assert_eq!(events.len(), 4, "{events:?}");
    let (_, finished_events) = call_v3(&server, "/v3/webhooks/events?event_type=batch.finished").await;
    assert_eq!(finished_events["data"][0]["entity_id"], batch_id.as_str());

    // Changed, then removed; another key sees none of it.
    let path = format!("/v3/webhooks/endpoints/{endpoint_id}");
    let (status, patched) =
        v3(&server, reqwest::Method::PATCH, &path, Some(json!({"events": ["avatar_video.fail"]}))).await;
    contract.check("patch", "/v3/webhooks/endpoints/{endpoint_id}", status, &patched);
    assert_eq!(patched["data"]["events"], json!(["avatar_video.fail"]));
    let other = server.another_key();
    let request = reqwest::Client::new().delete(format!("{}{path}", server.base)).bearer_auth(&other);
    assert_v3_error(&json_of(request.send().await.expect("delete")).await, 404, "not_found", None);
    let request =
        reqwest::Client::new().get(format!("{}/v3/videos/batches/{batch_id}", server.base)).bearer_auth(&other);
    assert_v3_error(&json_of(request.send().await.expect("get")).await, 404, "not_found", None);
    let (status, deleted) = v3(&server, reqwest::Method::DELETE, &path, None).await;
    contract.check("delete", "/v3/webhooks/endpoints/{endpoint_id}", status, &deleted);
    assert_eq!(status, 200, "{deleted}");
}

/// A v2 order of a one-second silent 128×128 video (the cheapest render),
/// by `key`.
async fn order_short_video(server: &Server, key: &str, group_id: &str) -> (u16, Value) {
    let body = json!({"video_inputs": [{"character": {"type": "talking_photo", "talking_photo_id": group_id},
                                        "voice": {"type": "silence", "duration": 1}}],
                      "dimension": {"width": 128, "height": 128}});
    let request = reqwest::Client::new().post(format!("{}/v2/video/generate", server.base)).header("X-Api-Key", key);
    json_of(request.json(&body).send().await.expect("generate")).await
}

/// The avatar of `key` made from the portrait (v1 upload, v2 group).
async fn avatar_of(server: &Server, key: &str) -> String {
    let upload = reqwest::Client::new()
        .post(format!("{}/v1/asset", server.base))
        .header("X-Api-Key", key)
        .header("Content-Type", "image/png")
        .body(ASTRONAUT.to_vec());
    let (_, asset) = json_of(upload.send().await.expect("upload")).await;
    let body = json!({"image_key": asset["data"]["image_key"]});
    let create = reqwest::Client::new()
        .post(format!("{}/v2/photo_avatar/avatar_group/create", server.base))
        .header("X-Api-Key", key)
        .json(&body);
    let (_, group) = json_of(create.send().await.expect("create")).await;
    group["data"]["id"].as_str().expect("group id").to_string()
}

#[tokio::test]
async fn keys_take_turns_in_the_queue() {
    let server = start_server().await;
    let (key_a, key_b) = (server.key.clone(), server.another_key());
    let (avatar_a, avatar_b) = (avatar_of(&server, &key_a).await, avatar_of(&server, &key_b).await);
    let mut a_videos = Vec::new();
    for _ in 0..40 {
        let (status, reply) = order_short_video(&server, &key_a, &avatar_a).await;
        assert_eq!(status, 200, "{reply}");
        a_videos.push(reply["data"]["video_id"].as_str().expect("video_id").to_string());
    }
    let (status, reply) = order_short_video(&server, &key_b, &avatar_b).await;
    assert_eq!(status, 200, "{reply}");
    let b_video = reply["data"]["video_id"].as_str().expect("video_id").to_string();
    let status_of = |key: String, id: String| {
        let request = reqwest::Client::new().get(format!("{}/v3/videos/{id}", server.base)).bearer_auth(key);
        async move { json_of(request.send().await.expect("status")).await.1["data"]["status"].clone() }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while status_of(key_b.clone(), b_video.clone()).await != "completed" {
        assert!(std::time::Instant::now() < deadline, "B's video not done in time");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut a_done = 0;
    for id in &a_videos {
        a_done += usize::from(status_of(key_a.clone(), id.clone()).await == "completed");
    }
    eprintln!("when B's one video was done, {a_done} of A's 40 were");
    assert!(a_done < 10, "B's video waited for {a_done} of A's");
}

#[tokio::test]
async fn a_key_may_have_only_so_many_videos_waiting() {
    // No workers: what is ordered stays in the queue.
    let server = start_server_with(&["--workers", "0", "--max-queued-per-key", "3"]).await;
    let contract = Contract::fetch(&server).await;
    let avatar = avatar_of(&server, &server.key).await;
    for _ in 0..3 {
        let (status, reply) = order_short_video(&server, &server.key, &avatar).await;
        assert_eq!(status, 200, "{reply}");
    }
    let (status, reply) = order_short_video(&server, &server.key, &avatar).await;
    assert_eq!((status, reply["error"]["code"].as_str()), (429, Some("rate_limit_exceeded")), "{reply}");
    let message = reply["error"]["message"].as_str().expect("message");
    assert!(message.contains("3 videos waiting") && message.contains("at most 3"), "{message}");
    let video = json!({"type": "avatar", "avatar_id": avatar, "script": "Hi.", "voice_id": "en-us-female"});
    let reply = v3_post(&server, &contract, "/v3/videos", video.clone()).await;
    assert_v3_error(&reply, 429, "rate_limit_exceeded", None);
    let reply = v3_post(&server, &contract, "/v3/videos/batches", json!({"videos": [video]})).await;
    assert_v3_error(&reply, 429, "rate_limit_exceeded", None);
    // Another key's queue is its own.
    let other = server.another_key();
    let other_avatar = avatar_of(&server, &other).await;
    let (status, reply) = order_short_video(&server, &other, &other_avatar).await;
    assert_eq!(status, 200, "{reply}");
}

/// A schema of the document with its `$ref` and `nullable` wrapper
/// (`oneOf: [schema, null]`) resolved.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        return resolve(document, &document["components"]["schemas"][name]);
    }
    if let Some(choices) = schema["oneOf"].as_array() {
        let real: Vec<&Value> = choices.iter().filter(|c| c["type"] != "null").collect();
        if real.len() == 1 {
            return resolve(document, real[0]);
        }
    }
    schema
}

/// The JSON type a schema of ours gives a value: its `type`, or that of
/// its `enum` / `const` values, or "object" for a choice of objects.
fn json_type(document: &Value, schema: &Value) -> String {
    let schema = resolve(document, schema);
    let of_value = |v: &Value| match v {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    match (&schema["type"], &schema["enum"], &schema["const"]) {
        (Value::String(t), _, _) => t.clone(),
        (Value::Array(types), _, _) => {
            types.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("").into()
        }
        (_, Value::Array(values), _) => values.first().map_or("", of_value).into(),
        (_, _, value) if !value.is_null() => of_value(value).into(),
        _ if schema["oneOf"].is_array() => "object".into(),
        _ => String::new(),
    }
}

/// Checks our schema of a reply's `data` against HeyGen's fields: every
/// field HeyGen requires is there, and every field both have has the same
/// JSON type (an integer where HeyGen says number is a number too).
fn compare_fields(document: &Value, ours: &Value, heygen: &Value, at: &str, problems: &mut Vec<String>) {
    let ours = resolve(document, ours);
    let properties = &ours["properties"];
    for required in heygen["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        if properties.get(required).is_none() {
            problems.push(format!("{at}: HeyGen's required field '{required}' is missing"));
        }
    }
    for (name, theirs) in heygen["properties"].as_object().into_iter().flatten() {
        let Some(mine) = properties.get(name) else {
            eprintln!("{at}: HeyGen's optional field '{name}' is not sent");
            continue;
        };
        let (mine_type, their_type) = (json_type(document, mine), theirs["type"].as_str().unwrap_or(""));
        let compatible = mine_type == their_type || (their_type == "number" && mine_type == "integer");
        if !their_type.is_empty() && !compatible {
            problems.push(format!("{at}.{name}: HeyGen says {their_type}, we say {mine_type}"));
        }
        if theirs["items"].is_object() {
            let items = &resolve(document, mine)["items"];
            compare_fields(document, items, &theirs["items"], &format!("{at}.{name}[]"), problems);
        }
    }
}

#[tokio::test]
async fn our_v3_document_uses_heygens_field_names_and_types() {
    // HeyGen's published reply fields: see the file's "source".
    let heygen: Value = serde_json::from_str(include_str!("heygen_v3_fields.json")).expect("fixture");
    let server = start_server().await;
    let document = Contract::fetch(&server).await.document;
    let mut problems = Vec::new();
    let endpoints = heygen["endpoints"].as_object().expect("endpoints");
    assert!(endpoints.len() >= 30, "{} endpoints", endpoints.len());
    for (operation, fields) in endpoints {
        let (method, path) = operation.split_once(' ').expect("method and path");
        let responses = &document["paths"][path][method]["responses"];
        let ok = if responses["200"].is_object() { &responses["200"] } else { &responses["202"] };
        let reply = resolve(&document, &ok["content"]["application/json"]["schema"]);
        assert!(reply.is_object() && !reply.is_null(), "{operation} is not in our document");
        let data = &reply["properties"]["data"];
        let data = if fields["list"] == true { &resolve(&document, data)["items"] } else { data };
        compare_fields(&document, data, fields, operation, &mut problems);
    }
    assert!(problems.is_empty(), "our document differs from HeyGen's:\n{}", problems.join("\n"));
}

#[tokio::test]
async fn a_webm_video_has_a_transparent_background() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let look_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    let (status, reply) = v3_post(
        &server,
        &contract,
        "/v3/videos",
        json!({"type": "avatar", "avatar_id": look_id, "script": "Nothing behind me.", "voice_id": "en-us-female",
               "output_format": "webm", "aspect_ratio": "1:1"}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["output_format"], "webm");
    let video = wait_v3_video(&server, reply["data"]["video_id"].as_str().expect("video_id")).await;
    let url = video["video_url"].as_str().expect("video_url");
    assert!(url.ends_with(".webm"), "{url}");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("video.webm");
    download(url, &path).await;
    let info = media::probe(&path).expect("a readable WebM");
    let stream = info.streams_of("video")[0];
    assert_eq!((stream.codec_name.as_str(), stream.width, stream.height), ("vp9", Some(720), Some(720)));
    assert_eq!(info.streams_of("audio")[0].codec_name, "opus");
    // Decoded with libvpx (ffmpeg's own VP9 decoder drops the alpha plane).
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-c:v", "libvpx-vp9", "-i"])
        .arg(&path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-"])
        .output()
        .expect("ffmpeg");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let frame = output.stdout;
    assert_eq!(frame.len(), 720 * 720 * 4);
    let alpha = |x: usize, y: usize| frame[(y * 720 + x) * 4 + 3];
    // The portrait's sky above the shoulders is gone; the face and the suit
    // (which reaches the bottom edge) stay.
    let corners = [alpha(5, 5), alpha(714, 5)];
    assert!(corners.iter().all(|&a| a < 16), "transparent top corners: {corners:?}");
    for (x, y) in [(360, 300), (360, 700)] {
        assert!(alpha(x, y) > 240, "opaque at ({x}, {y}): {}", alpha(x, y));
    }
    let opaque = (0..720 * 720).filter(|i| frame[i * 4 + 3] > 128).count() as f64 / (720.0 * 720.0);
    eprintln!("webm: {:.0}% of the frame is the person", opaque * 100.0);
    assert!((0.15..0.85).contains(&opaque), "{opaque}");
}

#[tokio::test]
async fn a_watermark_sits_in_its_corner_at_its_opacity() {
    let server = start_server().await;
    let contract = Contract::fetch(&server).await;
    let look_id = create_avatar(&server, ASTRONAUT.to_vec()).await;
    // A pure green square logo, 200 pixels a side.
    let logo = image::RgbaImage::from_pixel(200, 200, image::Rgba([0, 255, 0, 255]));
    let mut png = Vec::new();
    logo.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).expect("png");
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(&png);
    let (status, reply) = v3_post(
        &server,
        &contract,
        "/v3/videos",
        json!({"type": "avatar", "avatar_id": look_id, "script": "Branded.", "voice_id": "en-us-female",
               "background": {"type": "color", "value": "#000000"},
               "watermark": {"image": {"type": "base64", "media_type": "image/png", "data": data},
                             "opacity": 0.5, "scale": 1, "placement": {"position": "top_left", "offset_x": 0.05, "offset_y": 0.1}}}),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let video = wait_v3_video(&server, reply["data"]["video_id"].as_str().expect("video_id")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("video.mp4");
    download(video["video_url"].as_str().expect("video_url"), &path).await;
    let frame = &decode_frames(&path, 1280, 720)[0];
    let pixel = |x: usize, y: usize| &frame[(y * 1280 + x) * 3..(y * 1280 + x) * 3 + 3];
    // At 1280×720 the logo is 256 pixels wide (a fifth), 64 from the left and 72 from the top,
    // half green over the black background.
    let inside = pixel(64 + 128, 72 + 128);
    assert!(inside[1] > 100 && inside[1] < 160 && inside[0] < 30 && inside[2] < 30, "half-green logo: {inside:?}");
    let outside = pixel(64 + 128, 72 + 256 + 20);
    assert!(outside[1] < 30, "below the logo, the background: {outside:?}");
    let (status, reply) = v3_post(
        &server,
        &contract,
        "/v3/videos",
        json!({"type": "avatar", "avatar_id": look_id, "script": "Hi.", "voice_id": "en-us-female",
               "watermark": {"image": {"type": "base64", "data": data}, "opacity": 2}}),
    )
    .await;
    assert_v3_error(&(status, reply), 400, "invalid_parameter", Some("watermark.opacity"));
}
