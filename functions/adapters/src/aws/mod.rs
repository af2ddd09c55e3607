//! AWS adapters (being written).
