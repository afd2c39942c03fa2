//! The HTML pages served beside the API: the web client under `/app` and
//! the share preview page under `/s/{token}`, each with its assets.

pub(crate) mod app;
pub(crate) mod share;
