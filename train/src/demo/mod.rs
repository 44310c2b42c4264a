//! Built-in demo data: synthetic clothing reviews in the Women's E-Commerce Clothing
//! Reviews schema, generated deterministically from a seed. Tests use the plain ones
//! ([`write_csv`]: clear-cut sentences, so a tiny model learns them in seconds); the demo
//! uses [`realistic`] ones, which score like real reviews. Nothing depends on the real data
//! set being present.
pub mod realistic;
use crate::error::{Result, TrainError};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::path::Path;

const ITEMS: &[&str] = &[
    "dress", "top", "sweater", "jacket", "skirt", "blouse", "jeans", "cardigan", "tunic",
    "jumpsuit",
];
const POSITIVE: &[&str] = &[
    "I love this {item}",
    "it fits perfectly and the fabric is so soft",
    "great quality for the price",
    "I get compliments every time I wear it",
    "the color is gorgeous and true to the pictures",
    "so flattering and comfortable",
    "highly recommend, I bought it in two colors",
    "my new favorite {item}",
    "beautiful drape and well made",
    "runs true to size and looks amazing",
];
const NEGATIVE: &[&str] = &[
    "the {item} was poorly made and I returned it",
    "the fabric is cheap and scratchy",
    "very disappointed, it looks nothing like the picture",
    "the seams came apart after one wash",
    "it runs very small and the zipper broke",
    "unflattering on me and the material is see-through",
    "awful fit, going back",
    "the {item} pilled after wearing it once",
    "terrible quality for this price",
    "the stitching is crooked and it smells odd",
];
const NEUTRAL: &[&str] = &[
    "the {item} is okay but nothing special",
    "nice color but it runs a bit large",
    "not sure if I will keep it",
    "decent for the price, the fit is so-so",
    "I have mixed feelings about this {item}",
    "the fabric is fine, the cut is a little boxy",
    "pretty but thinner than I expected",
    "it is fine for lounging at home",
    "average quality, might work with a belt",
    "the length is odd on me but the print is cute",
];
const FILLER: &[&str] = &[
    "I am 5'4\" and usually wear a small.",
    "I bought it for a wedding.",
    "It arrived quickly.",
    "I ordered it online after seeing it in the store.",
    "I wore it to work on Monday.",
    "The model in the photo is much taller than me.",
    "I washed it in cold water.",
    "My daughter borrowed it already.",
];
const TITLES: [&[&str]; 3] = [
    &["Disappointed", "Returned", "Poor quality", "Not for me"],
    &["Just okay", "Mixed feelings", "Cute but", "Hmm"],
    &["Love it!", "Perfect", "Beautiful", "Great buy"],
];

/// One synthetic review: (title, text, rating).
pub fn review(rng: &mut StdRng) -> (String, String, u8) {
    let class = match rng.random_range(0..100) {
        0..20 => 0,
        20..38 => 1,
        _ => 2,
    };
    let pools = [NEGATIVE, NEUTRAL, POSITIVE];
    let item = *ITEMS.choose(rng).unwrap_or(&"dress");
    let mut parts: Vec<String> = Vec::new();
    for _ in 0..rng.random_range(1..=2) {
        parts.push(
            pools[class]
                .choose(rng)
                .unwrap_or(&"")
                .replace("{item}", item),
        );
    }
    // Label noise: a phrase from another class now and then, as in real reviews.
    if rng.random_bool(0.2) {
        let other = (class + rng.random_range(1..3)) % 3;
        parts.push(
            pools[other]
                .choose(rng)
                .unwrap_or(&"")
                .replace("{item}", item),
        );
    }
    parts.shuffle_in_place(rng);
    let mut text = parts
        .iter()
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().collect::<String>() + c.as_str() + ".",
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if rng.random_bool(0.6) {
        text = format!("{} {text}", FILLER.choose(rng).unwrap_or(&""));
    }
    const COLORS: &[&str] = &[
        "black", "navy", "red", "ivory", "green", "grey", "blush", "mustard",
    ];
    const SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "0", "2", "4", "6", "8"];
    text = format!(
        "{text} I got the {} one in size {}.",
        COLORS.choose(rng).unwrap_or(&"black"),
        SIZES.choose(rng).unwrap_or(&"M")
    );
    let rating = match class {
        0 => rng.random_range(1..=2),
        1 => 3,
        _ => rng.random_range(4..=5),
    };
    let title = TITLES[class].choose(rng).unwrap_or(&"").to_string();
    (title, text, rating)
}

trait ShuffleInPlace {
    fn shuffle_in_place(&mut self, rng: &mut StdRng);
}
impl<T> ShuffleInPlace for Vec<T> {
    fn shuffle_in_place(&mut self, rng: &mut StdRng) {
        use rand::seq::SliceRandom;
        self.shuffle(rng);
    }
}

/// Writes `n` synthetic reviews as CSV in the real data set's schema.
pub fn write_csv(path: &Path, n: usize, seed: u64) -> Result<()> {
    write_with(path, n, seed, review)
}

/// Writes `n` [`realistic`] reviews as CSV in the real data set's schema.
pub fn write_realistic_csv(path: &Path, n: usize, seed: u64) -> Result<()> {
    write_with(path, n, seed, realistic::review)
}

fn write_with(
    path: &Path,
    n: usize,
    seed: u64,
    review: fn(&mut StdRng) -> (String, String, u8),
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = csv::Writer::from_path(path)
        .map_err(|e| TrainError::Config(format!("cannot write {}: {e}", path.display())))?;
    let io = |e: csv::Error| TrainError::Config(format!("cannot write {}: {e}", path.display()));
    w.write_record([
        "",
        "Clothing ID",
        "Age",
        "Title",
        "Review Text",
        "Rating",
        "Recommended IND",
        "Positive Feedback Count",
        "Division Name",
        "Department Name",
        "Class Name",
    ])
    .map_err(io)?;
    for i in 0..n {
        let (title, text, rating) = review(&mut rng);
        let rec = if rating >= 4 { "1" } else { "0" };
        w.write_record([
            i.to_string(),
            rng.random_range(800..1200).to_string(),
            rng.random_range(18..80).to_string(),
            title,
            text,
            rating.to_string(),
            rec.to_string(),
            rng.random_range(0..20).to_string(),
            "General".into(),
            "Tops".into(),
            "Knits".into(),
        ])
        .map_err(io)?;
    }
    w.flush().map_err(|e| TrainError::io(path, e))
}
