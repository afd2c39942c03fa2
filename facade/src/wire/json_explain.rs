//! Why a JSON request body does not fit its schema, in words that name
//! the field. poem-openapi's own parse errors name a type, not the field,
//! and say a missing field is the wrong type ("failed to parse "string":
//! expected a string (occurred while parsing "NewMessage")"). When one of
//! them refuses a body, the body is walked against the schema the OpenAPI
//! document publishes, and the first field that is missing, of the wrong
//! JSON type, an unknown enum value or a number out of range is named
//! instead. The explanation never repeats the value sent: it may be a
//! password.

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use serde_json::Value;

/// What is wrong with `value` as a `schema`, naming the field; `None`
/// when the walk finds nothing (the caller keeps poem-openapi's error).
pub(crate) fn explain(
    value: &Value,
    schema: &MetaSchemaRef,
    registry: &Registry,
) -> Option<String> {
    walk(value, schema, registry, "")
}

fn walk(value: &Value, schema: &MetaSchemaRef, registry: &Registry, at: &str) -> Option<String> {
    let schema = resolve(schema, registry)?;
    if let Some(found) = schema
        .all_of
        .iter()
        .find_map(|part| walk(value, part, registry, at))
    {
        return Some(found);
    }
    if value.is_null() {
        // A missing optional field reads as null; a required one is
        // named by its object. An empty body reads as null too.
        return (at.is_empty() && schema.ty == "object" && !schema.nullable)
            .then(|| "the body must be a JSON object".to_owned());
    }
    let wrong = |what: &str| {
        Some(if at.is_empty() {
            format!("the body must be {what}")
        } else {
            format!("field `{at}` must be {what}")
        })
    };
    if !schema.enum_items.is_empty() {
        if schema.enum_items.contains(value) {
            return None;
        }
        let names: Vec<String> = schema.enum_items.iter().map(Value::to_string).collect();
        return wrong(&format!("one of {}", names.join(", ")));
    }
    match schema.ty {
        "string" if !value.is_string() => wrong("a string"),
        "boolean" if !value.is_boolean() => wrong("true or false"),
        "number" if !value.is_number() => wrong("a number"),
        "integer" => integer(value, schema).and_then(|what| wrong(&what)),
        "array" => match (value.as_array(), &schema.items) {
            (None, _) => wrong("an array"),
            (Some(items), Some(item)) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, item, registry, &format!("{at}[{i}]"))),
            (Some(_), None) => None,
        },
        "object" => match value.as_object() {
            None => wrong("a JSON object"),
            Some(fields) => {
                let field = |name: &str| {
                    if at.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{at}.{name}")
                    }
                };
                if let Some(missing) = schema
                    .required
                    .iter()
                    .find(|name| fields.get(**name).is_none_or(Value::is_null))
                {
                    return Some(format!("field `{}` is missing", field(missing)));
                }
                schema.properties.iter().find_map(|(name, property)| {
                    let v = fields.get(*name)?;
                    walk(v, property, registry, &field(name))
                })
            }
        },
        _ => None,
    }
}

fn resolve<'a>(schema: &'a MetaSchemaRef, registry: &'a Registry) -> Option<&'a MetaSchema> {
    match schema {
        MetaSchemaRef::Inline(schema) => Some(schema),
        MetaSchemaRef::Reference(name) => registry.schemas.get(name),
    }
}

/// What an integer field must be, when `value` is not one its format
/// holds: the documented bound it passes when the schema has one, else
/// the format's.
fn integer(value: &Value, schema: &MetaSchema) -> Option<String> {
    let (low, high): (i128, i128) = match schema.format {
        Some("uint64") => (0, u64::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    };
    let whole = value
        .as_i64()
        .map(i128::from)
        .or_else(|| value.as_u64().map(i128::from));
    if whole.is_some_and(|n| (low..=high).contains(&n)) {
        return None;
    }
    let bound = |documented: Option<f64>, format: i128| {
        documented.map_or(format.to_string(), |b| b.to_string())
    };
    Some(match value.as_f64() {
        Some(n) if n < low as f64 => {
            format!("a whole number, at least {}", bound(schema.minimum, low))
        }
        Some(n) if n > high as f64 => {
            format!("a whole number, at most {}", bound(schema.maximum, high))
        }
        _ => "a whole number".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::Type;
    use poem_openapi::{Enum, Object};
    use serde_json::json;

    use super::*;

    #[derive(Enum)]
    #[oai(rename_all = "lowercase")]
    enum Colour {
        Red,
        Blue,
    }

    #[derive(Object)]
    struct Inner {
        name: String,
    }

    #[derive(Object)]
    struct Outer {
        message: String,
        #[oai(validator(minimum(value = "1"), maximum(value = "600")))]
        ttl_seconds: Option<u64>,
        small: Option<u32>,
        flag: Option<bool>,
        colours: Option<Vec<Colour>>,
        inner: Option<Inner>,
    }

    fn said(value: Value) -> Option<String> {
        let mut registry = Registry::new();
        Outer::register(&mut registry);
        explain(&value, &Outer::schema_ref(), &registry)
    }

    #[test]
    fn the_field_is_named() {
        let cases = [
            (json!({}), "field `message` is missing"),
            (json!({"message": null}), "field `message` is missing"),
            (json!({"message": 5}), "field `message` must be a string"),
            (
                json!({"message": "m", "ttl_seconds": -1}),
                "field `ttl_seconds` must be a whole number, at least 1",
            ),
            (
                json!({"message": "m", "ttl_seconds": 1.5}),
                "field `ttl_seconds` must be a whole number",
            ),
            (
                json!({"message": "m", "ttl_seconds": "60"}),
                "field `ttl_seconds` must be a whole number",
            ),
            (
                json!({"message": "m", "small": 4_294_967_296_u64}),
                "field `small` must be a whole number, at most 4294967295",
            ),
            (
                json!({"message": "m", "small": -3}),
                "field `small` must be a whole number, at least 0",
            ),
            (
                json!({"message": "m", "flag": "yes"}),
                "field `flag` must be true or false",
            ),
            (
                json!({"message": "m", "colours": "red"}),
                "field `colours` must be an array",
            ),
            (
                json!({"message": "m", "colours": ["red", "green"]}),
                "field `colours[1]` must be one of \"red\", \"blue\"",
            ),
            (
                json!({"message": "m", "inner": {}}),
                "field `inner.name` is missing",
            ),
            (json!([]), "the body must be a JSON object"),
            (Value::Null, "the body must be a JSON object"),
        ];
        for (value, expected) in cases {
            assert_eq!(said(value.clone()).as_deref(), Some(expected), "{value}");
        }
    }

    #[test]
    fn a_body_that_fits_has_nothing_to_explain() {
        let fits = json!({"message": "m", "ttl_seconds": 60, "small": 7, "flag": true,
            "colours": ["blue"], "inner": {"name": "n"}, "unknown": [1]});
        assert_eq!(said(fits), None);
    }

    #[test]
    fn the_value_sent_is_never_repeated() {
        let secret = "hunter2-correct-horse";
        for value in [
            json!({"message": [secret]}),
            json!({"message": "m", "colours": [secret]}),
        ] {
            let said = said(value).expect("explained");
            assert!(!said.contains(secret), "{said}");
        }
    }
}
