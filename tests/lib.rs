//! End-to-end scenarios live in `e2e/`: one test binary that drives `shikayat-local` as a
//! separate process through its webhook and the Graph API simulator.
