//! The committed `openapi/openapi.json` is exactly what the code generates.
//! Regenerate with `cargo run -- openapi > openapi/openapi.json`.

#[test]
fn committed_openapi_document_is_current() {
    let generated = strongroom::facade::openapi_json();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_and_schema_property_is_documented() {
    let spec: serde_json::Value =
        serde_json::from_str(&strongroom::facade::openapi_json()).expect("json");
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            for (status, response) in op["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} undocumented"
                );
            }
        }
    }
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let documented = prop["description"].is_string()
                || prop["allOf"].is_array()
                || prop["$ref"].is_string();
            assert!(documented, "{name}.{field} has no description");
        }
    }
}
