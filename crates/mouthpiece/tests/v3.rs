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
