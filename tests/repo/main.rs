//! Checks of the repository itself: the layers import one way only, the
//! committed OpenAPI document is current, and every link in the README
//! and docs resolves.

mod architecture;
mod openapi;
