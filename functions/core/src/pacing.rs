//! Meta's pair rate (one message every 6 s to the same person, with a burst allowance that
//! borrows from the future) as a schedule, not a sleep: a generic cell-rate algorithm over one
//! stored time per recipient, the "theoretical arrival time" of the next send. A send that would
//! come too early is told how long to wait, and goes back on its queue with that delay.

use chrono::{DateTime, Duration, Utc};

/// At most one send every `interval` on average, with up to `burst` back to back. The desk's
/// burst stays well under Meta's 45 so that Meta's own allowance is never exhausted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairRate {
    pub interval: Duration,
    pub burst: u32,
}

impl PairRate {
    pub fn new(interval: std::time::Duration, burst: u32) -> Self {
        Self {
            interval: Duration::from_std(interval).unwrap_or(Duration::seconds(6)),
            burst: burst.max(1),
        }
    }
}

/// Takes one send slot at `now` given the stored time `tat` (None: never sent). Ok: the new time
/// to store. Err: how long until a slot is free.
pub fn take(
    tat: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rate: PairRate,
) -> Result<DateTime<Utc>, Duration> {
    let tat = tat.unwrap_or(now).max(now);
    let allowance = rate.interval * (rate.burst as i32 - 1);
    let earliest = tat - allowance;
    if earliest > now {
        return Err(earliest - now);
    }
    Ok(tat + rate.interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn a_burst_then_one_every_interval() {
        let rate = PairRate::new(std::time::Duration::from_secs(6), 3);
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(take(tat, t0(), rate).expect("within the burst"));
        }
        assert_eq!(take(tat, t0(), rate), Err(Duration::seconds(6)));
        // One interval later exactly one more slot is free.
        let later = t0() + Duration::seconds(6);
        tat = Some(take(tat, later, rate).expect("refilled"));
        assert!(take(tat, later, rate).is_err());
        // A long quiet spell refills the burst, never more.
        let much_later = t0() + Duration::hours(1);
        for _ in 0..3 {
            tat = Some(take(tat, much_later, rate).expect("burst again"));
        }
        assert!(take(tat, much_later, rate).is_err());
    }

    #[test]
    fn a_burst_of_one_spaces_every_send() {
        let rate = PairRate::new(std::time::Duration::from_millis(50), 1);
        let tat = take(None, t0(), rate).expect("first");
        assert_eq!(take(Some(tat), t0(), rate), Err(Duration::milliseconds(50)));
        assert!(take(Some(tat), t0() + Duration::milliseconds(50), rate).is_ok());
    }
}
