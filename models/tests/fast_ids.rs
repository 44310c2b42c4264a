//! `TextTokenizer::ids_into` (the ids-only path for BERT-style WordPiece tokenizers) gives
//! exactly the ids of the `tokenizers` pipeline (`encode_batch_pipeline` with no length limit): on
//! awkward texts, on seeded random texts mixing ASCII, whitespace, control characters,
//! accents, CJK, emoji and special-token look-alikes, and on every real review (when
//! ../shared/data is present), for our word-level vocabulary and for the real MiniLM
//! checkpoint's (sub-word pieces, added special tokens).
mod common;

use models::TextTokenizer;

const AWKWARD: &[&str] = &[
    "",
    " ",
    " \t\n\r ",
    "I love this dress!!! It's 100% cotton, isn't it?",
    "LOVE it... 5/5 -- would buy again :) #happy @store $45.99 [sic] {x} <b> a_b ~ ^ ` |",
    "Fits TTS; runs small-ish. XS/S petite (5'2\", 110lbs)",
    "tab\tseparated\nnew line\r\ncarriage",
    "vertical\x0btab and form\x0cfeed and a\x01control and nul\x00here",
    "caf\u{e9} na\u{ef}ve r\u{e9}sum\u{e9} e\u{301} COMBINING",
    "non\u{a0}breaking\u{2003}em space\u{3000}ideographic",
    "zero\u{200b}width and soft\u{ad}hyphen",
    "\u{4e2d}\u{6587}\u{5b57} mixed with english\u{3002}",
    "emoji \u{1f60d}\u{1f44d} and \u{2764}\u{fe0f} hearts",
    "\u{201c}curly quotes\u{201d} and \u{2018}apostrophes\u{2019} \u{2014} dashes \u{2026}",
    "[CLS] [SEP] [UNK] [PAD] [MASK] [cls] x[SEP]y ##ing ## #",
    "unbelievably disappointingly overpriced outerwear",
    "Supercalifragilisticexpialidocious-ANTIDISESTABLISHMENTARIANISM pneumonoultramicroscopicsilicovolcanoconiosisPNEUMONOULTRAMICROSCOPIC",
    "ä\u{308} Å ß İ ǅ ﬁ \u{130}stanbul",
];

fn long_words() -> Vec<String> {
    vec![
        "a".repeat(100),
        "B".repeat(101),
        format!("{}{}", "Ab".repeat(40), "!"),
        "word ".repeat(500),
    ]
}

/// Seeded random texts from pieces of every kind.
fn random_texts(n: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "love",
        "Dress",
        "FIT",
        "the",
        "a",
        "zipper",
        "broke",
        "fabric",
        "soft",
        "xyzzy",
        "unaffordable",
        "re",
        "##",
        "#",
        "[",
        "]",
        "[SEP]",
        "[unk]",
        "CLS",
        ".",
        ",",
        "!",
        "?",
        "'",
        "\"",
        "-",
        "/",
        "(",
        ")",
        ":",
        ";",
        "$",
        "%",
        "&",
        "*",
        "+",
        "=",
        "<",
        ">",
        "@",
        "^",
        "_",
        "`",
        "{",
        "}",
        "|",
        "~",
        "\\",
        "0",
        "42",
        "3.5",
        " ",
        " ",
        " ",
        "  ",
        "\t",
        "\n",
        "\r",
        "\x0b",
        "\x0c",
        "\x00",
        "\x07",
        "\x7f",
        "\u{e9}",
        "E\u{301}",
        "\u{fc}",
        "\u{df}",
        "\u{a0}",
        "\u{200b}",
        "\u{2003}",
        "\u{4e2d}",
        "\u{3002}",
        "\u{1f600}",
        "\u{2019}",
        "\u{2026}",
        "\u{fffd}",
        "\u{ad}",
        "\u{130}",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let len = (next() % 40) as usize;
            (0..len)
                .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                .collect()
        })
        .collect()
}

/// The "Review Text" column of the real reviews; empty (and said) without the data.
fn real_reviews() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/womens_clothing_ecommerce_reviews.csv"
    );
    let Ok(mut r) = csv::Reader::from_path(path) else {
        eprintln!("no real data at {path}: skipping the real reviews");
        return Vec::new();
    };
    let col = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Review Text")
        .expect("a Review Text column");
    r.records()
        .map(|row| row.unwrap().get(col).unwrap_or("").to_string())
        .filter(|t| !t.trim().is_empty())
        .collect()
}

fn assert_same_ids(tk: &TextTokenizer, texts: &[String], what: &str) {
    assert!(tk.has_fast_ids(), "{what}: no ids-only path");
    let mut ids = Vec::new();
    for chunk in texts.chunks(256) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let want = tk.encode_batch_pipeline(&refs, usize::MAX).unwrap();
        for (t, w) in chunk.iter().zip(want) {
            ids.clear();
            tk.ids_into(t, &mut ids).unwrap();
            let got: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
            assert_eq!(got, w.ids, "{what}: ids differ for {t:?}");
        }
        // encode_batch (which takes the ids-only path) truncates as the pipeline does.
        for max_len in [2, 16, 128] {
            assert_eq!(
                tk.encode_batch(&refs, max_len).unwrap(),
                tk.encode_batch_pipeline(&refs, max_len).unwrap(),
                "{what}: encode_batch differs at max_len {max_len}"
            );
        }
    }
}

fn all_texts() -> Vec<String> {
    let mut texts: Vec<String> = AWKWARD.iter().map(|s| s.to_string()).collect();
    texts.extend(long_words());
    texts.extend(random_texts(5000));
    texts
}

#[test]
fn ids_match_the_pipeline_for_our_wordpiece_vocabulary() {
    let mut corpus = common::corpus();
    corpus.extend(AWKWARD.iter().map(|s| s.to_string()));
    corpus.extend(random_texts(200));
    let tk = TextTokenizer::train_wordpiece(corpus.iter(), 400, 1).unwrap();
    assert_same_ids(&tk, &all_texts(), "trained");
    // Saved and loaded (the artifact's tokenizer.json) it still takes the fast path.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.json");
    tk.save(&path).unwrap();
    assert_same_ids(
        &TextTokenizer::load(&path).unwrap(),
        &all_texts(),
        "reloaded",
    );
}

#[test]
fn ids_match_the_pipeline_for_the_minilm_checkpoint() {
    let tk = TextTokenizer::load(&common::minilm_dir().join("tokenizer.json")).unwrap();
    assert_same_ids(&tk, &all_texts(), "MiniLM");
}

#[test]
fn ids_match_the_pipeline_on_every_real_review() {
    let reviews = real_reviews();
    if reviews.is_empty() {
        return;
    }
    assert!(reviews.len() > 10_000, "{}", reviews.len());
    let tk = TextTokenizer::train_wordpiece(reviews.iter(), 8000, 2).unwrap();
    assert_same_ids(&tk, &reviews, "trained on the reviews");
    let minilm = TextTokenizer::load(&common::minilm_dir().join("tokenizer.json")).unwrap();
    assert_same_ids(&minilm, &reviews, "MiniLM on the reviews");
}
