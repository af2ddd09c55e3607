use thiserror::Error;

use crate::complaint::Status;

/// Every error the core can produce.
#[derive(Debug, Error, PartialEq)]
pub enum CoreError {
    #[error("illegal transition: cannot {event} a complaint that is {from}")]
    IllegalTransition { from: Status, event: &'static str },
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("invalid district configuration: {0}")]
    Config(String),
    #[error("malformed input: {0}")]
    Malformed(String),
}
