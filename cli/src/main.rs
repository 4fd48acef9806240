//! Safebox command-line client.

fn main() {}
