//! Demo reviews that read like real ones: each review mixes aspect sentences of several
//! polarities (mostly its own), composed from aspects, adjectives, intensifiers and
//! negations rather than fixed sentences, with titles that sometimes disagree, and labels
//! that are noisy near the middle (a 3-star review that reads positive, a 2 that reads
//! neutral). A model trained on them scores like a model on real reviews, not 1.000.
//!
//! [`drifted`] writes reviews of another product line (footwear and outdoor gear) whose
//! sentiment hangs on words the clothing reviews never use: the demo's drifted traffic.
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::Rng;

const ASPECTS: &[&str] = &[
    "fabric",
    "fit",
    "color",
    "length",
    "stitching",
    "zipper",
    "waist",
    "sleeves",
    "neckline",
    "lining",
    "buttons",
    "pattern",
    "material",
    "cut",
    "hem",
];
const POS: &[&str] = &[
    "soft",
    "flattering",
    "gorgeous",
    "well made",
    "comfortable",
    "true to size",
    "vibrant",
    "elegant",
    "lovely",
    "perfect",
    "beautiful",
    "sturdy",
    "cozy",
    "stylish",
];
const NEG: &[&str] = &[
    "scratchy",
    "unflattering",
    "faded",
    "poorly stitched",
    "too tight",
    "boxy",
    "see-through",
    "flimsy",
    "cheap",
    "itchy",
    "crooked",
    "awkward",
    "stiff",
    "disappointing",
];
const NEU: &[&str] = &[
    "fine",
    "okay",
    "as expected",
    "a bit long",
    "slightly loose",
    "average",
    "thinner than I thought",
    "a little short",
    "not bad",
    "acceptable",
    "so-so",
    "different from the photo",
];
const INTENSIFIERS: &[&str] = &["", "", "really ", "very ", "quite ", "a little ", "super "];
const PATTERNS: &[&str] = &[
    "The {aspect} is {adj}.",
    "I found the {aspect} {adj}.",
    "{Aspect} felt {adj} to me.",
    "Honestly the {aspect} is {adj}.",
    "The {aspect} turned out {adj}.",
];
const ITEMS: &[&str] = &[
    "dress", "top", "sweater", "jacket", "skirt", "blouse", "jeans", "cardigan", "tunic",
];
const OPENERS: [&[&str]; 3] = [
    &[
        "I really wanted to like this {item}.",
        "Sadly this {item} is going back.",
        "Not what I hoped for.",
    ],
    &[
        "This {item} is fine.",
        "Mixed feelings about this {item}.",
        "I might keep it.",
    ],
    &[
        "I love this {item}!",
        "So happy with this {item}.",
        "Best purchase this season.",
    ],
];
const TITLES: [&[&str]; 3] = [
    &[
        "Disappointed",
        "Returned it",
        "Poor quality",
        "Not for me",
        "Meh",
    ],
    &[
        "Just okay",
        "Mixed feelings",
        "Cute but",
        "Hmm",
        "Could be better",
    ],
    &["Love it!", "Perfect", "Beautiful", "Great buy", "So cute"],
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn pick<'a>(rng: &mut StdRng, xs: &[&'a str]) -> &'a str {
    xs.choose(rng).copied().unwrap_or("")
}

/// One aspect sentence of polarity `p` (0 negative, 1 neutral, 2 positive); now and then a
/// negated adjective of the opposite polarity ("not very flattering").
fn sentence(rng: &mut StdRng, p: usize) -> String {
    let aspect = pick(rng, ASPECTS);
    let adj = match p {
        0 if rng.random_bool(0.2) => format!("not {}", pick(rng, POS)),
        0 => format!("{}{}", pick(rng, INTENSIFIERS), pick(rng, NEG)),
        2 if rng.random_bool(0.1) => format!("not {}", pick(rng, NEG)),
        2 => format!("{}{}", pick(rng, INTENSIFIERS), pick(rng, POS)),
        _ => pick(rng, NEU).to_string(),
    };
    pick(rng, PATTERNS)
        .replace("{aspect}", aspect)
        .replace("{Aspect}", &capitalize(aspect))
        .replace("{adj}", &adj)
}

/// One review: (title, text, rating).
pub fn review(rng: &mut StdRng) -> (String, String, u8) {
    let class = match rng.random_range(0..100) {
        0..15 => 0,
        15..30 => 1,
        _ => 2,
    };
    // Most sentences carry the review's polarity, some another one.
    let n = rng.random_range(2..=4);
    let mut parts = vec![pick(rng, OPENERS[class]).replace("{item}", pick(rng, ITEMS))];
    for _ in 0..n {
        let p = match rng.random_range(0..100) {
            0..65 => class,
            65..85 => 1,
            _ => [2, 2, 0][class],
        };
        parts.push(sentence(rng, p));
    }
    if rng.random_bool(0.5) {
        parts.push(format!(
            "I am {}'{}\" and ordered a {}.",
            rng.random_range(4..=6),
            rng.random_range(0..12),
            pick(
                rng,
                &[
                    "XS",
                    "small",
                    "medium",
                    "large",
                    "petite small",
                    "2",
                    "6",
                    "10"
                ]
            )
        ));
    }
    // Ratings near the middle are noisy, as real ones are.
    let mut rating: u8 = match class {
        0 => rng.random_range(1..=2),
        1 => 3,
        _ => rng.random_range(4..=5),
    };
    if rng.random_bool(0.12) {
        rating = match rating {
            1 => 2,
            5 => 4,
            r if rng.random_bool(0.5) => r - 1,
            r => r + 1,
        };
    }
    // A title sometimes disagrees with the text.
    let title_class = if rng.random_bool(0.1) {
        rng.random_range(0..3)
    } else {
        class
    };
    let title = pick(rng, TITLES[title_class]).to_string();
    (title, parts.join(" "), rating)
}

const GEAR: &[&str] = &[
    "hiking boots",
    "trail runners",
    "sandals",
    "rain jacket",
    "backpack",
    "tent",
    "headlamp",
    "trekking poles",
];
const GEAR_POS: &[&str] = &[
    "stayed waterproof through the whole storm",
    "gave great grip on wet granite",
    "needed no break-in at all",
    "kept my feet blister-free for twenty miles",
    "packed down tiny and weighed nothing",
];
const GEAR_NEG: &[&str] = &[
    "leaked at the seams in light drizzle",
    "gave me blisters within an hour",
    "lost its tread after two hikes",
    "snapped on the first descent",
    "delaminated at the toe cap",
];
const GEAR_NEU: &[&str] = &[
    "does the job on easy trails",
    "is decent for day hikes only",
    "is heavier than the listing says",
    "works but the laces keep loosening",
    "is fine for car camping",
];

/// Review `i` of the drifted product line and its sentiment
/// (`negative`, `neutral`, `positive`), deterministic in `i`.
pub fn drifted(i: usize) -> (String, &'static str) {
    let class = i % 3;
    let gear = GEAR[(i / 3) % GEAR.len()];
    let phrases = [GEAR_NEG, GEAR_NEU, GEAR_POS][class];
    let a = phrases[(i / 7) % phrases.len()];
    let b = phrases[(i / 11 + 1) % phrases.len()];
    (
        format!("These {gear} {a}, and after {} trips it {b}.", 2 + i % 9),
        ["negative", "neutral", "positive"][class],
    )
}
