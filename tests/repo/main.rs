//! Checks of the repository itself: the layers import one way only, the
//! committed OpenAPI document is current, and the README and docs stay
//! true (links resolve, the layer map names every layer), and the web
//! client's German catalogue is complete.

mod architecture;
mod docs;
mod openapi;
mod translations;
