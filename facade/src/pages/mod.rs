//! The HTML pages served beside the API: the web client under `/app`, the
//! share preview page under `/s/{token}`, each with its assets, and
//! Swagger UI under `/docs`.

pub(crate) mod app;
pub(crate) mod docs;
pub(crate) mod share;
