//! The API's rate limit as this process sees it, so many hosts at once stay within it.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// The project's request bucket as this process sees it: the API refills one request a
/// second, up to RateLimit-Limit. Every request takes one first, waiting for the refill when
/// there is none, so many hosts at once never run into 429s. Answers arrive out of order and
/// while other requests are still in the air, so a reported count, less those requests, only
/// ever lowers the estimate (the refill raises it).
struct Bucket {
    tokens: f64,
    limit: f64,
    at: Instant,
    known: bool,
    in_flight: u32,
}

static BUCKET: LazyLock<std::sync::Mutex<Bucket>> = LazyLock::new(|| {
    std::sync::Mutex::new(Bucket {
        tokens: 0.0,
        limit: 0.0,
        at: Instant::now(),
        known: false,
        in_flight: 0,
    })
});

/// One spare request, for the API's own rounding of its refill.
const RESERVE: f64 = 1.0;

impl Bucket {
    fn refill(&mut self) {
        let now = Instant::now();
        self.tokens = (self.tokens + (now - self.at).as_secs_f64()).min(self.limit);
        self.at = now;
    }
}

/// A request in the air; the bucket counts it until it is dropped.
pub(super) struct Ticket;

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut b = BUCKET.lock().unwrap_or_else(|e| e.into_inner());
        b.in_flight = b.in_flight.saturating_sub(1);
    }
}

/// Takes a request from the bucket, waiting for one when it is empty.
pub(super) async fn take() -> Ticket {
    loop {
        let wait = {
            let mut b = BUCKET.lock().unwrap_or_else(|e| e.into_inner());
            b.refill();
            if !b.known || b.tokens >= 1.0 + RESERVE {
                b.tokens -= 1.0;
                b.in_flight += 1;
                return Ticket;
            }
            Duration::from_secs_f64(1.0 + RESERVE - b.tokens)
        };
        tokio::time::sleep(wait).await;
    }
}

/// What an answer says of the bucket.
pub(super) fn observe(headers: &reqwest::header::HeaderMap) {
    let num = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let (Some(left), Some(limit)) = (num("RateLimit-Remaining"), num("RateLimit-Limit")) else {
        return;
    };
    let mut b = BUCKET.lock().unwrap_or_else(|e| e.into_inner());
    b.refill();
    b.limit = limit;
    // The other requests in the air may not be counted in `left` yet.
    let estimate = left - f64::from(b.in_flight.saturating_sub(1));
    b.tokens = if b.known {
        b.tokens.min(estimate)
    } else {
        estimate
    };
    b.known = true;
}
