//! Prometheus metrics at `/metrics`, and what the worker records for them:
//! jobs finished by kind and outcome, how long each stage took (face
//! analysis, speech, rendering and, within rendering, the preparation, the
//! drawing with its encode, and the store), the workers running in this process, and,
//! read from the database at each scrape, the jobs in each state (the queue
//! depth is the `queued` count) and the workers of the whole deployment.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// The pipeline stages whose durations are recorded.
#[derive(Clone, Copy)]
pub(crate) enum Stage {
    FaceAnalysis,
    Speech,
    /// Everything of a video after its speech: the three below and the captions.
    Render,
    /// Placing the photo and the motion track.
    RenderPrepare,
    /// The drawing waiting for the voice: before the first frame, and
    /// wherever the voice fell behind (the voice speaks while frames are drawn).
    WaitingForSpeech,
    /// Drawing the frames while ffmpeg encodes them (and the GIF preview
    /// and the sound), and joining picture and sound.
    DrawAndEncode,
    /// Putting the finished files in the store.
    Store,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::FaceAnalysis => "face_analysis",
            Stage::Speech => "speech",
            Stage::Render => "render",
            Stage::RenderPrepare => "render_prepare",
            Stage::WaitingForSpeech => "waiting_for_speech",
            Stage::DrawAndEncode => "draw_and_encode",
            Stage::Store => "store",
        }
    }
}

pub(crate) struct Metrics {
    registry: Registry,
    jobs_finished: Family<Labels, Counter>,
    stage_seconds: Family<Labels, Histogram>,
    jobs: Family<Labels, Gauge>,
    pub workers: Gauge,
    deployment_workers: Gauge,
    /// Live sessions this process runs, and may run.
    pub live_sessions: Gauge,
    pub live_capacity: Gauge,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mouthpiece");
        let jobs_finished = Family::<Labels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Jobs finished, by kind and outcome (done, retried, failed)",
            jobs_finished.clone(),
        );
        let stage_seconds = Family::<Labels, Histogram>::new_with_constructor(|| {
            // 10 ms to about 80 s.
            Histogram::new(exponential_buckets(0.01, 2.0, 14))
        });
        registry.register("stage_seconds", "Time spent in each pipeline stage", stage_seconds.clone());
        let jobs = Family::<Labels, Gauge>::default();
        registry.register("jobs", "Jobs in the database, by kind and state (queued is the queue depth)", jobs.clone());
        let workers = Gauge::default();
        registry.register("workers", "Render workers running in this process", workers.clone());
        let deployment_workers = Gauge::default();
        registry.register(
            "deployment_workers",
            "Render workers of every live process sharing this database",
            deployment_workers.clone(),
        );
        let live_sessions = Gauge::default();
        registry.register("live_sessions", "Live sessions this process runs", live_sessions.clone());
        let live_capacity = Gauge::default();
        registry.register("live_capacity", "Live sessions this process may run at once", live_capacity.clone());
        Metrics {
            registry,
            jobs_finished,
            stage_seconds,
            jobs,
            workers,
            deployment_workers,
            live_sessions,
            live_capacity,
        }
    }

    pub(crate) fn job_finished(&self, kind: &str, outcome: &'static str) {
        self.jobs_finished.get_or_create(&vec![("kind", kind.to_string()), ("outcome", outcome.to_string())]).inc();
    }

    pub(crate) fn stage(&self, stage: Stage, seconds: f64) {
        self.stage_seconds.get_or_create(&vec![("stage", stage.name().to_string())]).observe(seconds);
    }

    /// The text exposition, with the job counts (kind, state, count) and
    /// the deployment's live workers just read.
    pub(crate) fn render(&self, job_counts: &[(String, String, i64)], live_workers: i64) -> String {
        self.deployment_workers.set(live_workers);
        self.jobs.clear();
        for (kind, state, count) in job_counts {
            self.jobs.get_or_create(&vec![("kind", kind.clone()), ("state", state.clone())]).set(*count);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_family() {
        let metrics = Metrics::new();
        metrics.workers.set(2);
        metrics.job_finished("video", "done");
        metrics.stage(Stage::Render, 1.5);
        let text = metrics.render(&[("video".into(), "queued".into(), 3)], 6);
        assert!(text.contains("mouthpiece_workers 2"), "{text}");
        assert!(text.contains("mouthpiece_deployment_workers 6"), "{text}");
        assert!(text.contains(r#"mouthpiece_jobs_finished_total{kind="video",outcome="done"} 1"#), "{text}");
        assert!(text.contains(r#"mouthpiece_stage_seconds_count{stage="render"} 1"#), "{text}");
        assert!(text.contains(r#"mouthpiece_jobs{kind="video",state="queued"} 3"#), "{text}");
    }
}
