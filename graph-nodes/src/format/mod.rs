//! VPP 18.01 header formatters.
