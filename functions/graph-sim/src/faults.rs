//! Injected Graph faults: a seeded plan that makes some `/messages` and media calls fail the way
//! Meta's do (5xx, rate limits, a connection dropped without an answer).

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::validate::GraphErr;

/// What share of Graph calls fail, and how. Shares are probabilities in 0..=1 drawn per request,
/// in request order, from an RNG seeded with `seed`, so a run with the same requests in the same
/// order meets the same faults.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// HTTP 500 (code 131000) or 503 (code 131016), half each.
    pub server_error: f64,
    /// HTTP 429 with code 130429, or HTTP 400 with code 131056 (pair rate), half each.
    pub rate_limit: f64,
    /// The connection closes without an HTTP response.
    pub drop: f64,
    pub seed: u64,
}

impl FaultPlan {
    /// No faults (the default).
    pub fn none() -> Self {
        Self::default()
    }

    fn is_active(&self) -> bool {
        self.server_error > 0.0 || self.rate_limit > 0.0 || self.drop > 0.0
    }
}

/// Faulted requests by kind. None of them is recorded as sent (or as a media request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounts {
    pub server_error: u64,
    pub rate_limit: u64,
    pub pair_rate: u64,
    pub dropped: u64,
}

impl FaultCounts {
    pub fn total(&self) -> u64 {
        self.server_error + self.rate_limit + self.pair_rate + self.dropped
    }
}

/// One request the fault plan failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultedRequest {
    /// "messages" | "upload" | "lookup" | "download"
    pub what: String,
    /// The recipient of a send (normalized), or the media id; empty for an upload.
    pub target: String,
    /// HTTP status and Graph code answered; `None` when the connection was dropped.
    pub answered: Option<(u16, i64)>,
}

/// One drawn fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    ServerError,
    Unavailable,
    RateLimit,
    PairRate,
    Drop,
}

impl Fault {
    /// The Graph error this fault answers with; `None` for a dropped connection.
    pub fn error(self) -> Option<GraphErr> {
        let (status, code) = match self {
            Fault::ServerError => (500, 131000),
            Fault::Unavailable => (503, 131016),
            Fault::RateLimit => (429, 130429),
            Fault::PairRate => return Some(GraphErr::pair_rate()),
            Fault::Drop => return None,
        };
        Some(GraphErr::injected(status, code))
    }

    /// The response for this fault: a Graph error, or a response whose body fails before its
    /// first byte, which makes hyper close the connection without writing a status line.
    pub fn response(self) -> Response {
        match self.error() {
            Some(err) => err.into_response(),
            None => (StatusCode::OK, Body::new(Aborted)).into_response(),
        }
    }
}

/// The plan in force, its RNG and what it has injected.
pub(crate) struct Faults {
    plan: FaultPlan,
    rng: StdRng,
    pub counts: FaultCounts,
    pub log: Vec<FaultedRequest>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(FaultPlan::none())
    }
}

impl Faults {
    pub fn new(plan: FaultPlan) -> Self {
        Self {
            plan,
            rng: StdRng::seed_from_u64(plan.seed),
            counts: FaultCounts::default(),
            log: Vec::new(),
        }
    }

    /// A new plan restarts the draws from its seed; the counts and log keep what earlier plans
    /// injected.
    pub fn set(&mut self, plan: FaultPlan) {
        self.plan = plan;
        self.rng = StdRng::seed_from_u64(plan.seed);
    }

    /// Draws for one request to `what` on `target`, and counts and logs what it drew.
    pub fn draw_for(&mut self, what: &str, target: &str) -> Option<Fault> {
        let fault = self.draw()?;
        self.log.push(FaultedRequest {
            what: what.to_string(),
            target: target.to_string(),
            answered: fault.error().map(|e| (e.status.as_u16(), e.code)),
        });
        Some(fault)
    }

    /// Draws for one request and counts what it drew.
    pub fn draw(&mut self) -> Option<Fault> {
        if !self.plan.is_active() {
            return None;
        }
        let p = self.plan;
        let r: f64 = self.rng.gen();
        // The second draw is taken on every request so one request's kind does not shift the
        // sequence that later requests see.
        let half: bool = self.rng.gen();
        let fault = if r < p.server_error {
            if half {
                Fault::ServerError
            } else {
                Fault::Unavailable
            }
        } else if r < p.server_error + p.rate_limit {
            if half {
                Fault::RateLimit
            } else {
                Fault::PairRate
            }
        } else if r < p.server_error + p.rate_limit + p.drop {
            Fault::Drop
        } else {
            return None;
        };
        let c = &mut self.counts;
        match fault {
            Fault::ServerError | Fault::Unavailable => c.server_error += 1,
            Fault::RateLimit => c.rate_limit += 1,
            Fault::PairRate => c.pair_rate += 1,
            Fault::Drop => c.dropped += 1,
        }
        Some(fault)
    }
}

/// A body that errors at once: hyper then drops the connection instead of finishing the response.
struct Aborted;

impl HttpBody for Aborted {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped by the fault plan",
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> FaultPlan {
        FaultPlan {
            server_error: 0.10,
            rate_limit: 0.03,
            drop: 0.01,
            seed,
        }
    }

    fn draws(plan: FaultPlan, n: usize) -> Vec<Option<Fault>> {
        let mut f = Faults::new(plan);
        (0..n).map(|_| f.draw()).collect()
    }

    #[test]
    fn no_plan_injects_nothing() {
        let mut f = Faults::default();
        assert!((0..1000).all(|_| f.draw().is_none()));
        assert_eq!(f.counts, FaultCounts::default());
    }

    #[test]
    fn same_seed_same_faults_other_seed_others() {
        assert_eq!(draws(plan(7), 2000), draws(plan(7), 2000));
        assert_ne!(draws(plan(7), 2000), draws(plan(8), 2000));
    }

    #[test]
    fn shares_and_counts_follow_the_plan() {
        let n = 100_000;
        let mut f = Faults::new(plan(42));
        let drawn: Vec<Fault> = (0..n).filter_map(|_| f.draw()).collect();
        let c = f.counts;
        assert_eq!(c.total() as usize, drawn.len());
        let share = |k: u64| k as f64 / n as f64;
        // Binomial spread at n = 100 000 is well under these margins.
        assert!((share(c.server_error) - 0.10).abs() < 0.005, "{c:?}");
        assert!((share(c.rate_limit + c.pair_rate) - 0.03).abs() < 0.003, "{c:?}");
        assert!((share(c.dropped) - 0.01).abs() < 0.002, "{c:?}");
        // Each rate-limited request is a 429 or a 131056, about half each.
        let rl = (c.rate_limit + c.pair_rate) as f64;
        assert!((c.rate_limit as f64 / rl - 0.5).abs() < 0.05, "{c:?}");
        let kinds = |k: Fault| drawn.iter().filter(|d| **d == k).count();
        assert!(kinds(Fault::ServerError) > 0 && kinds(Fault::Unavailable) > 0);
    }

    #[test]
    fn a_new_plan_restarts_its_draws_and_keeps_counts() {
        let mut f = Faults::new(FaultPlan {
            drop: 1.0,
            ..FaultPlan::none()
        });
        assert_eq!(f.draw(), Some(Fault::Drop));
        f.set(plan(3));
        let after: Vec<_> = (0..500).map(|_| f.draw()).collect();
        assert_eq!(after, draws(plan(3), 500));
        assert_eq!(
            f.counts.dropped,
            1 + after.iter().filter(|d| **d == Some(Fault::Drop)).count() as u64
        );
        f.set(FaultPlan::none());
        assert_eq!(f.draw(), None);
    }

    #[test]
    fn errors_are_metas() {
        let codes: Vec<_> = [
            Fault::ServerError,
            Fault::Unavailable,
            Fault::RateLimit,
            Fault::PairRate,
        ]
        .into_iter()
        .map(|f| f.error().map(|e| (e.status.as_u16(), e.code)))
        .collect();
        assert_eq!(
            codes,
            vec![
                Some((500, 131000)),
                Some((503, 131016)),
                Some((429, 130429)),
                Some((400, 131056))
            ]
        );
        assert!(Fault::Drop.error().is_none());
    }
}
