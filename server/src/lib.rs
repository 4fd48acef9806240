//! Safebox server core.
