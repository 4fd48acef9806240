//! Safebox web app.

fn main() {}
