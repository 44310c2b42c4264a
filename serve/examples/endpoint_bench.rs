//! Helpers for `bench/endpoint.sh`:
//!
//! - `make-model DIR` — writes a fastText sentiment artifact (untrained weights; the
//!   cost of a forward pass does not depend on training);
//! - `throughput DIR [CONCURRENCY] [SECONDS]` — in-process batched throughput through
//!   `serve::Batcher` (tokenization included), single-review calls;
//! - `trivial PORT` — a trivial hyper endpoint answering a fixed JSON body;
//! - `serve DIR PORT` — the real endpoint with default settings on DIR.
#![forbid(unsafe_code)]
// The allocator `sentio` itself uses (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn reviews() -> Vec<String> {
    let a = ["love", "hate", "like", "return", "adore", "regret"];
    let b = ["dress", "fabric", "fit", "colour", "zipper", "size"];
    let c = ["perfect", "awful", "fine", "cheap", "lovely", "itchy"];
    let mut out = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            for z in c {
                out.push(format!(
                    "I {x} this {y}, it is {z} and I wore it {} times",
                    i * j
                ));
            }
        }
    }
    out
}

fn make_model(dir: PathBuf) -> anyhow::Result<()> {
    let texts = reviews();
    tch::manual_seed(7);
    let tk = models::TextTokenizer::train_wordpiece(texts.iter(), 2000, 1)?;
    let m = models::Model::new(
        models::ModelConfig::FastText(models::FastTextConfig {
            vocab_size: tk.vocab_size(),
            bigram_buckets: 100_000,
            dim: 64,
            dropout: 0.0,
        }),
        vec!["negative".into(), "neutral".into(), "positive".into()],
        128,
        tk,
        tch::Device::Cpu,
    )?;
    let mut w = models::ArtifactWriter::new(&dir)?;
    m.save_into(&mut w)?;
    w.finish()?;
    println!("{}", dir.display());
    Ok(())
}

async fn throughput(dir: PathBuf, concurrency: usize, seconds: u64) -> anyhow::Result<()> {
    let pool = serve::TokenizerPool::new(1, 4096);
    let b = serve::Batcher::load(
        &dir,
        tch::Device::Cpu,
        "bench",
        serve::BatchConfig::default(),
        pool,
    )
    .await?;
    let texts = Arc::new(reviews());
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (b, texts, done) = (b.clone(), texts.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = t;
            while Instant::now() < until {
                let r = b
                    .predict(vec![texts[i % texts.len()].clone()])
                    .await
                    .expect("predict");
                r[0].as_ref().expect("prediction");
                done.fetch_add(1, Ordering::Relaxed);
                i += concurrency;
            }
        }));
    }
    let start = Instant::now();
    for t in tasks {
        t.await?;
    }
    let n = done.load(Ordering::Relaxed);
    let s = b.stats();
    println!(
        "in-process batched predictor: {:.0} reviews/s (concurrency {concurrency}, {n} in {:.1}s, mean batch {:.1})",
        n as f64 / start.elapsed().as_secs_f64(),
        start.elapsed().as_secs_f64(),
        s.items as f64 / s.batches.max(1) as f64
    );
    // Single-review latency of the model alone (tokenization + forward), for the c=1 target.
    let p = models::Predictor::load(&dir, tch::Device::Cpu)?;
    let mut lat = Vec::new();
    for i in 0..2000 {
        let t = Instant::now();
        p.predict(&[texts[i % texts.len()].as_str()])?;
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "model alone, one review: p50 {:?} p99 {:?}",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100]
    );
    Ok(())
}

async fn trivial(port: u16) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                    br#"{"label":"positive","probabilities":{"negative":0.1,"neutral":0.1,"positive":0.8}}"#,
                ))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

async fn serve_endpoint(dir: PathBuf, port: u16) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let config = serve::ServeConfig::new(vec![serve::VariantSpec {
        name: "AllTraffic".into(),
        source: serve::VariantSource::Model(dir.display().to_string()),
        weight: 1.0,
    }]);
    serve::run(config, listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    tch::set_num_threads(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match arg(0).as_str() {
        "make-model" => make_model(arg(1).into()),
        "throughput" => rt.block_on(throughput(
            arg(1).into(),
            arg(2).parse().unwrap_or(64),
            arg(3).parse().unwrap_or(10),
        )),
        "trivial" => rt.block_on(trivial(arg(1).parse()?)),
        "serve" => rt.block_on(serve_endpoint(arg(1).into(), arg(2).parse()?)),
        _ => anyhow::bail!("usage: endpoint_bench make-model DIR | throughput DIR [C] [S] | trivial PORT | serve DIR PORT"),
    }
}
