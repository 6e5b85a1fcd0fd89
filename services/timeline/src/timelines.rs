//! Answering a timeline: from the live view when it can answer exactly, composed over HTTP
//! otherwise. Both give the same body; the `x-timeline-source` header and `Server-Timing`
//! tell them apart.

use kit::feed::Position;
use kit::ids::UserId;
use kit::timestamp::Timestamp;
use tokio::time::Instant;

use crate::clients::Propagate;
use crate::domain::{Degradation, Part, Rendered, TimelineParams, ViewRead};
use crate::engine::{Engine, EngineError};
use crate::metrics::{Answered, Metrics, Served};
use crate::timing::ServerTiming;
use crate::view::{Health, LiveView};

/// The response header naming where an answer came from: `view` or `composed`.
pub const SOURCE_HEADER: &str = "x-timeline-source";

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    /// The live view.
    View,
    /// Composed from the users, friends and messages services.
    Composed,
}

/// A timeline, where its time went, and where it came from.
#[derive(Debug)]
pub struct Answer {
    /// The timeline's body and tag.
    pub rendered: Rendered,
    /// Whether `degraded` names anything.
    pub degraded: bool,
    /// `Server-Timing`: `view` for the view, the stages for a composed answer.
    pub timing: ServerTiming,
    /// The view or composed.
    pub source: AnswerSource,
}

/// The timelines: the composer and, when it is on, the live view.
#[derive(Debug)]
pub struct Timelines {
    /// The composer.
    pub engine: Engine,
    /// The live view; `None` with `--view off`.
    pub view: Option<LiveView>,
    /// Metrics.
    pub metrics: Metrics,
}

/// Why a timeline is composed, as `/metrics` and `Server-Timing` say it.
struct Fallback {
    reason: Answered,
    note: String,
}

// === impl AnswerSource ===

impl AnswerSource {
    /// The `x-timeline-source` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Composed => "composed",
        }
    }
}

// === impl Timelines ===

impl Timelines {
    /// The timeline of `user`, at least as new as every one of `positions` where the view
    /// answers it.
    pub async fn timeline(
        &self,
        user: UserId,
        params: TimelineParams,
        positions: &[Position],
        propagate: &Propagate,
    ) -> Result<Answer, EngineError> {
        let answer = self.answer(user, params, positions, propagate).await;
        self.metrics.served(match &answer {
            Ok(answer) if !answer.degraded => Served::Complete,
            Ok(_) => Served::Degraded,
            Err(EngineError::UserNotFound(_)) => Served::NotFound,
            Err(EngineError::FriendsUnavailable(_)) => Served::Unavailable,
        });
        answer
    }

    async fn answer(
        &self,
        user: UserId,
        params: TimelineParams,
        positions: &[Position],
        propagate: &Propagate,
    ) -> Result<Answer, EngineError> {
        let fallback = match &self.view {
            None => Fallback {
                reason: Answered::Off,
                note: String::new(),
            },
            Some(view) => match self.view_answer(view, user, params, positions).await {
                Ok(answer) => {
                    self.metrics.answered(Answered::View);
                    return answer;
                }
                Err(fallback) => fallback,
            },
        };
        self.metrics.answered(fallback.reason);
        let mut composed = self.engine.timeline(user, params, propagate).await?;
        if fallback.reason == Answered::Lagging {
            composed.timeline.degraded.push(Degradation::View);
            composed.timeline.degraded.sort_unstable();
        }
        if fallback.reason != Answered::Off {
            composed.timing.note("view", fallback.note);
        }
        Ok(Answer {
            rendered: composed.timeline.render(),
            degraded: !composed.timeline.degraded.is_empty(),
            timing: composed.timing,
            source: AnswerSource::Composed,
        })
    }

    /// The view's answer, or why there is none.
    async fn view_answer(
        &self,
        view: &LiveView,
        user: UserId,
        params: TimelineParams,
        positions: &[Position],
    ) -> Result<Result<Answer, EngineError>, Fallback> {
        match view.health() {
            Health::Current => {}
            Health::Building => return Err(Fallback::new(Answered::Building, "building")),
            Health::Lagging(parts) => return Err(Fallback::lagging(&parts)),
        }
        view.reach(positions).await.map_err(|reason| {
            let note = match reason {
                Answered::Unfollowed => "position of a feed not followed",
                _ => "position not reached",
            };
            Fallback::new(reason, note)
        })?;
        let started = Instant::now();
        let plan = |friends| self.engine.strategy.plan(friends, params.limit.get());
        let rendered = match view.read(user, params, plan, Timestamp::now()) {
            None => return Err(Fallback::new(Answered::Building, "building")),
            Some(ViewRead::Short(friend)) => {
                return Err(Fallback::new(Answered::Short, &format!("short={friend}")));
            }
            Some(ViewRead::NoSuchUser) => return Ok(Err(EngineError::UserNotFound(user))),
            Some(ViewRead::Answer(rendered)) => rendered,
        };
        let mut timing = ServerTiming::default();
        timing.stage("view", started.elapsed());
        Ok(Ok(Answer {
            rendered,
            degraded: false,
            timing,
            source: AnswerSource::View,
        }))
    }
}

// === impl Fallback ===

impl Fallback {
    fn new(reason: Answered, note: &str) -> Self {
        Self {
            reason,
            note: note.to_owned(),
        }
    }

    fn lagging(parts: &[Part]) -> Self {
        let names: Vec<&str> = parts.iter().map(|p| p.source()).collect();
        Self::new(Answered::Lagging, &format!("lagging={}", names.join("+")))
    }
}
