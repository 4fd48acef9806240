//! Safebox format, key schedule and link.
