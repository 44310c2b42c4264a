//! A bounded fuzz target for the request decoders (`serve::codec`, which reads bodies with
//! `monitoring::payload::decode`, and the `Content-Type` / `Accept` negotiation): arbitrary
//! bytes and structured-but-hostile JSON, jsonlines and CSV. Whatever comes in, a decoder
//! never panics, answers only client errors (4xx) for what it refuses, and what it accepts
//! holds 1 to `max_instances` non-empty texts; well-formed bodies decode to exactly the
//! texts that were encoded. It runs with the normal test suite, a fixed number of cases
//! each (a failure is shrunk and saved under `proptest-regressions/`).
use proptest::prelude::*;
use serde_json::Value;
use serve::codec::{decode, input_format, output_format, InputFormat};

const MAX_INSTANCES: usize = 8;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

fn formats() -> impl Strategy<Value = InputFormat> {
    prop_oneof![
        Just(InputFormat::Json),
        Just(InputFormat::JsonLines),
        Just(InputFormat::Csv),
        Just(InputFormat::Text),
    ]
}

/// JSON values up to a few levels deep, with the keys the decoder looks for.
fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::String(" \t\n".into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("text".to_string()),
            Just("review".to_string()),
            Just("instances".to_string()),
            Just("inputs".to_string()),
            Just("texts".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..12).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Checks the decoder's contract on one body.
fn check(format: InputFormat, body: &[u8]) -> Result<(), TestCaseError> {
    match decode(format, body, MAX_INSTANCES) {
        Ok(d) => {
            prop_assert!(!d.texts.is_empty() && d.texts.len() <= MAX_INSTANCES);
            prop_assert!(d.texts.iter().all(|t| !t.trim().is_empty()));
            prop_assert!(!d.single || d.texts.len() == 1);
        }
        Err(e) => prop_assert!(e.status().is_client_error(), "{e} is not a 4xx"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic_and_are_refused_as_4xx(
        format in formats(),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        check(format, &body)?;
    }

    #[test]
    fn hostile_json_never_panics(format in formats(), value in json_values()) {
        let body = serde_json::to_vec(&value).unwrap();
        check(format, &body)?;
        // The same values one per line, as jsonlines.
        if let Value::Array(items) = &value {
            let lines: Vec<String> = items.iter().map(Value::to_string).collect();
            check(InputFormat::JsonLines, lines.join("\n").as_bytes())?;
        }
    }

    #[test]
    fn hostile_csv_never_panics(
        rows in prop::collection::vec(prop::collection::vec("[^\r]{0,8}|\"[^\"]{0,4}|,", 0..4), 0..10),
    ) {
        let text: Vec<String> = rows.iter().map(|r| r.join(",")).collect();
        check(InputFormat::Csv, text.join("\r\n").as_bytes())?;
    }

    #[test]
    fn well_formed_bodies_decode_to_their_texts(
        texts in prop::collection::vec("\\PC*[a-z]\\PC*", 1..=MAX_INSTANCES),
    ) {
        let json = serde_json::to_vec(&serde_json::json!({ "instances": texts })).unwrap();
        prop_assert_eq!(decode(InputFormat::Json, &json, MAX_INSTANCES).unwrap().texts, texts.clone());
        let lines: Vec<String> = texts.iter().map(|t| serde_json::json!({ "text": t }).to_string()).collect();
        let jsonl = lines.join("\n");
        prop_assert_eq!(
            decode(InputFormat::JsonLines, jsonl.as_bytes(), MAX_INSTANCES).unwrap().texts,
            texts.clone()
        );
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
        for t in &texts {
            w.write_record([t.as_str(), "extra column"]).unwrap();
        }
        let csv = w.into_inner().unwrap();
        prop_assert_eq!(decode(InputFormat::Csv, &csv, MAX_INSTANCES).unwrap().texts, texts);
    }

    #[test]
    fn too_many_instances_are_422_not_a_panic(n in (MAX_INSTANCES + 1)..64usize) {
        let body = serde_json::to_vec(&vec!["x"; n]).unwrap();
        let e = decode(InputFormat::Json, &body, MAX_INSTANCES).unwrap_err();
        prop_assert_eq!(e.status().as_u16(), 422);
    }

    #[test]
    fn content_negotiation_never_panics(header in "\\PC{0,64}") {
        if let Err(e) = input_format(Some(&header)) {
            prop_assert_eq!(e.status().as_u16(), 415);
        }
        if let Err(e) = output_format(Some(&header)) {
            prop_assert_eq!(e.status().as_u16(), 406);
        }
    }

    #[test]
    fn accept_lists_with_weights_never_panic(
        items in prop::collection::vec(
            ("[a-z*]{1,12}/[a-z*+-]{1,12}", prop::option::of("-?[0-9]{0,3}(\\.[0-9]{0,4})?|[a-zA-Z]{1,5}")),
            0..6,
        ),
    ) {
        let header: Vec<String> = items
            .iter()
            .map(|(m, q)| match q { Some(q) => format!("{m};q={q}"), None => m.clone() })
            .collect();
        if let Err(e) = output_format(Some(&header.join(", "))) {
            prop_assert_eq!(e.status().as_u16(), 406);
        }
    }
}
