//! Checks of the repository itself: the committed OpenAPI document is
//! current, the layers import one way only, and every link in the README
//! and docs resolves.

mod openapi;
